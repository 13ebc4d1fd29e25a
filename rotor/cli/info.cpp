// `rotor info`: what this build and machine offer (threads, CPU features, oneDNN version).
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>
#include <cstdlib>

#include "rotor/cli/command.h"
#include "rotor/core/threads.h"
#include "rotor/kernels/matmul.h"
#include "rotor/kernels/pair_gemm.h"

namespace {

void setup(CLI::App& cmd) {
  static int threads = 0;
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    const dnnl_version_t* v = dnnl_version();
    __builtin_cpu_init();
    std::printf("rotor 0.1.0\n");
    std::printf("threads: %d\n", rotor::num_threads());
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    if (policy) std::printf("openmp wait: OMP_WAIT_POLICY=%s\n", policy);
    if (spin)
      std::printf("openmp wait: GOMP_SPINCOUNT=%s%s\n", spin, std::getenv("ROTOR_DEFAULT_SPINCOUNT") ? " (rotor's default)" : "");
    if (!policy && !spin) std::printf("openmp wait: OpenMP's default (spinning)\n");
    std::printf("oneDNN: %d.%d.%d\n", v->major, v->minor, v->patch);
    std::printf("cpu: avx2=%d avx512f=%d avx512bf16=%d amx-bf16=%d\n", __builtin_cpu_supports("avx2") != 0,
                __builtin_cpu_supports("avx512f") != 0, __builtin_cpu_supports("avx512bf16") != 0,
                rotor::kernels::cpu_has_amx_bf16());
    std::printf("oneDNN isa: %s\n", rotor::kernels::onednn_isa_name());
    const char* bf16_path = rotor::kernels::onednn_uses_amx() ? "oneDNN (AMX)"
                            : rotor::kernels::linear_pairs_supported(8, 32, 32)
                                ? "rotor's AVX512-BF16 kernels (oneDNN for other sizes)"
                                : "oneDNN";
    std::printf("bf16 linear layers: %s\n", bf16_path);
  });
}

const bool registered = rotor::cli::register_command("info", "show the build, threads and CPU features", setup);

}  // namespace

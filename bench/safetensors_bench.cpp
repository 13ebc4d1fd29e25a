// Throughput of safetensors save (streamed, fsynced, renamed) and load (mmap + copy into tensors)
// for a 128 MB f32 model of 32 tensors. bench/io_bench.sh compares it with PyTorch's torch.save/load.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "rotor/io/safetensors.h"

namespace {

constexpr int kTensors = 32;
constexpr int64_t kRows = 1024, kCols = 1024;  // 4 MB each

rotor::io::TensorMap model() {
  rotor::io::TensorMap m;
  for (int i = 0; i < kTensors; ++i) m["layer." + std::to_string(i) + ".weight"] = rotor::Tensor::full({kRows, kCols}, i * 0.5);
  return m;
}

std::string bench_path() {
  return (std::filesystem::temp_directory_path() / ("rotor_bench_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

void BM_SafetensorsSave(benchmark::State& state) {
  const rotor::io::TensorMap m = model();
  const std::string path = bench_path();
  for (auto _ : state) rotor::io::save_safetensors(path, m);
  state.SetBytesProcessed(state.iterations() * kTensors * kRows * kCols * 4);
  std::filesystem::remove(path);
}

void BM_SafetensorsLoad(benchmark::State& state) {
  const std::string path = bench_path();
  rotor::io::save_safetensors(path, model());
  for (auto _ : state) benchmark::DoNotOptimize(rotor::io::load_safetensors(path));
  state.SetBytesProcessed(state.iterations() * kTensors * kRows * kCols * 4);
  std::filesystem::remove(path);
}

BENCHMARK(BM_SafetensorsSave)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SafetensorsLoad)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();

// `rotor logits`: the float32 logits [T, vocab] of one token sequence, as an NPY file, for checking
// rotor against other implementations. Reads rotor run directories and Hugging Face LLaMA checkpoints.
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/token_ids.h"
#include "rotor/core/error.h"
#include "rotor/io/npy.h"
#include "rotor/models/hf_llama.h"
#include "rotor/models/hf_llama_transformer.h"
#include "rotor/models/lm_trainer.h"

namespace {

using namespace rotor;

struct Args {
  std::string model, ids, out;
  int threads = 0;
};

void run(const Args& a) {
  const std::vector<int32_t> ids = rotor::cli::parse_token_ids(a.ids);
  if (models::is_hf_model_directory(a.model)) {  // a Hugging Face LLaMA checkpoint directory
    io::save_npy(a.out, models::hf_llama_sequence_logits(a.model, std::vector<int64_t>(ids.begin(), ids.end())));
    return;
  }
  auto model = models::load_model(a.model);
  const auto& c = model->config();
  const int64_t T = static_cast<int64_t>(ids.size());
  ROTOR_CHECK(T <= c.ctx, "--ids: ", T, " tokens exceed the model context of ", c.ctx);
  for (size_t i = 0; i < ids.size(); ++i)
    ROTOR_CHECK(ids[i] < c.vocab, "--ids: token id ", ids[i], " at position ", i, " is outside the vocabulary [0, ",
                c.vocab, ")");
  model->forward(ids.data(), nullptr, 1, T);
  Tensor logits = Tensor::empty({T, c.vocab}, DType::f32);
  std::copy(model->logits(), model->logits() + T * c.vocab, logits.data<float>());
  io::save_npy(a.out, logits);
}

void setup(CLI::App& cmd) {
  static Args a;
  cmd.add_option("--model", a.model,
                 "rotor run directory, or a Hugging Face LLaMA directory (config.json + model.safetensors[.index.json])")
      ->required();
  cmd.add_option("--ids", a.ids, "comma-separated token ids, e.g. 72,101,108")->required();
  cmd.add_option("--out", a.out, "output .npy file (float32 [T, vocab])")->required();
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([] { run(a); });
}

const bool registered = rotor::cli::register_command("logits", "write the logits of a token sequence as NPY", setup);

}  // namespace

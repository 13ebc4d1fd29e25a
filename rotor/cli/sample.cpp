// `rotor sample`: generates from a trained byte-level transformer or a Hugging Face LLaMA directory with
// a KV cache, greedy or with temperature, top-k and top-p (nucleus) sampling. The prompt is text or token
// ids (--ids); the last two stderr lines are prompt_tokens/s=N and decode_tokens/s=N.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/token_ids.h"
#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/autograd_gpt.h"
#include "rotor/models/hf_llama.h"
#include "rotor/models/hf_generation_config.h"
#include "rotor/models/hf_llama_generator.h"
#include "rotor/models/hf_tokenizer.h"
#include "rotor/models/lm_trainer.h"

namespace {

using namespace rotor;

struct Args {
  std::string model, prompt = "\n", ids, dtype = "f32", kv_dtype = "f32";
  int64_t tokens = 200, top_k = 0;
  double temperature = 0.8, top_p = 1.0;
  uint64_t seed = 1;
  int threads = 0;
  bool ignore_eos = false, show_ids = false, no_bos = false;
  // which options the command line gave (Hugging Face directories take the rest from generation_config.json)
  bool given_prompt = false, given_tokens = false, given_temperature = false, given_top_k = false, given_top_p = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The closing lines of every run (stderr): prompt tokens per second, then generated tokens per second
// after the first (each of those is one decoding step).
void report_speed(int64_t prompt_tokens, double prompt_seconds, int64_t steps, double decode_seconds) {
  std::fflush(stdout);
  std::fprintf(stderr, "prompt_tokens/s=%.1f\n", prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0.0);
  std::fprintf(stderr, "decode_tokens/s=%.1f\n", decode_seconds > 0 ? steps / decode_seconds : 0.0);
}

DType weight_dtype(const std::string& name, const char* option) {
  ROTOR_CHECK(name == "f32" || name == "bf16", option, ": unknown dtype '", name, "' (f32 or bf16)");
  return name == "f32" ? DType::f32 : DType::bf16;
}

// Picks a token from logits: temperature 0 is greedy; otherwise softmax(logits / T) restricted to the
// top-k tokens and to the smallest set whose probability reaches top-p.
int32_t pick(const float* logits, int64_t V, const Args& a, Rng& rng) {
  if (a.temperature == 0) return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);  // first max
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return logits[x] > logits[y]; });
  const int64_t k = a.top_k > 0 ? std::min<int64_t>(a.top_k, V) : V;
  std::vector<double> p(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits[order[i]] - logits[order[0]]) / a.temperature);
  int64_t keep = k;
  double cum = 0;
  for (int64_t i = 0; i < k; ++i) {
    cum += p[i] / sum;
    if (cum >= a.top_p) {
      keep = i + 1;
      break;
    }
  }
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[i];
  double u = rng.uniform() * total;
  for (int64_t i = 0; i < keep; ++i) {
    u -= p[i];
    if (u <= 0) return order[i];
  }
  return order[keep - 1];
}

void check_sampling(const Args& a) {
  ROTOR_CHECK(a.temperature >= 0 && std::isfinite(a.temperature), "--temperature must be >= 0, got ", a.temperature);
  ROTOR_CHECK(a.top_p > 0 && a.top_p <= 1, "--top-p must be in (0, 1], got ", a.top_p);
  ROTOR_CHECK(a.top_k >= 0, "--top-k must be >= 0, got ", a.top_k);
  ROTOR_CHECK(a.tokens >= 0, "--tokens must be >= 0, got ", a.tokens);
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s;
}

// A Hugging Face LLaMA directory: options not given come from generation_config.json; the prompt is
// --ids or --prompt text encoded by the directory's tokenizer; it runs through each layer at once, then
// one token per step until --tokens or an EOS id (unless --ignore-eos). Prints the generated ids
// (--ids or --show-ids: the prompt's ids on a line before them) or the prompt text and its continuation.
void run_hf(Args a) {
  const DType wdt = weight_dtype(a.dtype, "--dtype"), kvdt = weight_dtype(a.kv_dtype, "--kv-dtype");
  const models::HfGenerationConfig gc = models::read_hf_generation_config(a.model);
  if (gc.present) {
    if (!a.given_temperature) a.temperature = gc.do_sample ? gc.temperature : 0.0;
    if (!a.given_top_k) a.top_k = gc.do_sample ? gc.top_k : 0;
    if (!a.given_top_p) a.top_p = gc.do_sample ? gc.top_p : 1.0;
    if (!a.given_tokens && gc.max_new_tokens) a.tokens = *gc.max_new_tokens;
  }
  check_sampling(a);
  const bool text_mode = a.ids.empty();
  std::optional<models::HfTokenizer> tok;
  std::vector<int32_t> prompt;
  if (text_mode) {
    ROTOR_CHECK(models::HfTokenizer::available(a.model), a.model,
                ": no tokenizer.json or tokenizer.model; give the prompt as token ids (--ids)");
    tok.emplace(models::HfTokenizer::load(a.model));
    prompt = tok->encode(a.given_prompt ? a.prompt : std::string(), !a.no_bos);
    ROTOR_CHECK(!prompt.empty(), "--prompt: the prompt has no tokens");
  } else {
    ROTOR_CHECK(!a.given_prompt, "give the prompt as --prompt or as --ids, not both");
    prompt = cli::parse_token_ids(a.ids);
  }
  const models::HfLlamaModel hf = models::load_hf_llama(a.model);
  const int64_t P = static_cast<int64_t>(prompt.size());
  if (!a.given_tokens) a.tokens = std::max<int64_t>(0, std::min<int64_t>(a.tokens, hf.config.max_positions - P));
  const int64_t ctx = P + a.tokens;
  ROTOR_CHECK(ctx <= hf.config.max_positions, "--tokens: the prompt (", P, " tokens) and ", a.tokens,
              " new tokens exceed max_position_embeddings (", hf.config.max_positions, ")");
  for (size_t i = 0; i < prompt.size(); ++i)
    ROTOR_CHECK(prompt[i] >= 0 && prompt[i] < hf.config.vocab_size, "prompt token id ", prompt[i], " at position ", i,
                " is outside the model's vocabulary [0, ", hf.config.vocab_size, ")");
  models::HfLlamaGenerator gen(hf, std::max<int64_t>(ctx, 1), wdt, kvdt);
  Rng rng(a.seed);
  const bool print_ids = !text_mode || a.show_ids;
  if (print_ids && text_mode) std::printf("%s\n", join_ids(prompt).c_str());
  // text output: the prompt as given, then the continuation (the decoded whole sequence past the decoded
  // prompt), printed as it grows
  std::vector<int32_t> all = prompt, out;
  const std::string prompt_text = text_mode ? tok->decode(prompt) : std::string();
  size_t printed = prompt_text.size();
  if (text_mode && !print_ids) std::fwrite(a.prompt.data(), 1, a.given_prompt ? a.prompt.size() : 0, stdout);
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = a.tokens > 0 ? gen.forward(prompt.data(), P) : nullptr;
  const double prompt_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  int64_t steps = 0;
  for (int64_t i = 0; i < a.tokens; ++i) {
    const int32_t next = pick(logits, gen.vocab(), a, rng);
    const bool eos = !a.ignore_eos && std::count(gc.eos_token_ids.begin(), gc.eos_token_ids.end(), next) > 0;
    out.push_back(next);
    all.push_back(next);
    if (!print_ids && !eos) {
      const std::string text = tok->decode(all);
      if (text.size() > printed && text.compare(0, prompt_text.size(), prompt_text) == 0) {
        std::fwrite(text.data() + printed, 1, text.size() - printed, stdout);
        std::fflush(stdout);
        printed = text.size();
      }
    }
    if (eos || i + 1 == a.tokens) break;
    logits = gen.forward(&next, 1);
    ++steps;
  }
  const double decode_seconds = seconds_since(t0);
  if (print_ids) std::printf("%s", join_ids(out).c_str());
  std::printf("\n");
  report_speed(P, prompt_seconds, steps, decode_seconds);
}

// Feeds the prompt (its last ctx tokens) to `decoder` (Transformer::Decoder or AutogradGpt::Decoder: step,
// reset, position), then generates; when the context is full, restarts from the most recent half of it.
template <class Decoder>
void generate(const Args& a, Decoder& decoder, int64_t ctx, int64_t vocab) {
  ROTOR_CHECK(!a.prompt.empty(), "--prompt must not be empty");
  Rng rng(a.seed);
  std::vector<int32_t> text(a.prompt.begin(), a.prompt.end());
  for (auto& t : text) t = static_cast<uint8_t>(t);
  auto refill = [&](size_t keep) {
    decoder.reset();
    const float* logits = nullptr;
    for (size_t i = text.size() - keep; i < text.size(); ++i) logits = decoder.step(text[i]);
    return logits;
  };
  auto t0 = std::chrono::steady_clock::now();
  const int64_t fed = static_cast<int64_t>(std::min<size_t>(text.size(), ctx));
  const float* logits = refill(fed);
  const double prompt_seconds = seconds_since(t0);
  std::fwrite(a.prompt.data(), 1, a.prompt.size(), stdout);
  t0 = std::chrono::steady_clock::now();
  int64_t steps = 0;
  for (int64_t i = 0; i < a.tokens; ++i) {
    const int32_t next = pick(logits, vocab, a, rng);
    text.push_back(next);
    std::fputc(next, stdout);
    if (i + 1 == a.tokens) break;
    if (decoder.position() >= ctx) logits = refill(std::max<int64_t>(1, ctx / 2));
    else logits = decoder.step(next);
    ++steps;
  }
  std::fputc('\n', stdout);
  report_speed(fed, prompt_seconds, steps, seconds_since(t0));
}

// A run of `rotor train --mixer NAME`: the mixers' single-token step().
void run_mixer(const Args& a) {
  const auto model = models::load_autograd_gpt(a.model);
  ROTOR_CHECK(!model->bidirectional(), a.model, " is a masked-LM encoder (`rotor train --objective mlm`); it does not "
              "generate text (use it with `rotor finetune`)");
  const auto& c = model->config();
  ROTOR_CHECK(c.vocab == 256, a.model, ": sample generates bytes and needs a 256-token vocabulary, got ", c.vocab);
  models::AutogradGpt::Decoder decoder(*model);
  generate(a, decoder, c.ctx, c.vocab);
}

void run(const Args& a) {
  if (models::is_hf_model_directory(a.model)) return run_hf(a);
  check_sampling(a);
  ROTOR_CHECK(a.ids.empty() && a.dtype == "f32" && a.kv_dtype == "f32" && !a.show_ids && !a.no_bos && !a.ignore_eos,
              a.model, ": --ids, --dtype, --kv-dtype, --show-ids, --no-bos and --ignore-eos apply to Hugging Face LLaMA "
              "directories");
  if (models::is_mixer_run(a.model)) return run_mixer(a);
  auto model = models::load_model(a.model);
  const auto& c = model->config();
  ROTOR_CHECK(c.vocab == 256, a.model, ": sample generates bytes and needs a 256-token vocabulary, got ", c.vocab);
  models::Transformer::Decoder decoder(*model);
  generate(a, decoder, c.ctx, c.vocab);
}

void setup(CLI::App& cmd) {
  static Args a;
  cmd.add_option("--model", a.model,
                 "rotor run directory, or a Hugging Face LLaMA directory (config.json + model.safetensors[.index.json])")
      ->required();
  static CLI::Option *prompt, *tokens, *temperature, *top_k, *top_p;
  prompt = cmd.add_option("--prompt", a.prompt,
                          "text to continue (Hugging Face directories: encoded by its tokenizer.json or tokenizer.model)");
  cmd.add_option("--ids", a.ids, "the prompt as comma-separated token ids (Hugging Face directories)");
  tokens = cmd.add_option("--tokens", a.tokens,
                          "tokens to generate (Hugging Face directories: default generation_config.json's max_new_tokens)");
  cmd.add_flag("--show-ids", a.show_ids, "print the prompt's token ids and the generated ids instead of text");
  cmd.add_flag("--no-bos", a.no_bos, "do not add the tokenizer's BOS (and other template tokens) to a --prompt");
  cmd.add_flag("--ignore-eos", a.ignore_eos, "keep generating after an EOS token (generation_config/config.json eos_token_id)");
  cmd.add_option("--dtype", a.dtype, "weights in f32 or bf16 (converted at load; Hugging Face directories)");
  cmd.add_option("--kv-dtype", a.kv_dtype, "key/value cache in f32 or bf16 (Hugging Face directories)");
  temperature = cmd.add_option("--temperature", a.temperature,
                               "softmax temperature (0: greedy; Hugging Face directories with a generation_config.json: "
                               "its temperature when do_sample, else 0)");
  top_k = cmd.add_option("--top-k", a.top_k, "sample among the k most likely tokens (0: all)");
  top_p = cmd.add_option("--top-p", a.top_p, "sample among the most likely tokens holding this probability");
  cmd.add_option("--seed", a.seed, "random seed");
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([] {
    a.given_prompt = prompt->count() > 0;
    a.given_tokens = tokens->count() > 0;
    a.given_temperature = temperature->count() > 0;
    a.given_top_k = top_k->count() > 0;
    a.given_top_p = top_p->count() > 0;
    run(a);
  });
}

const bool registered = rotor::cli::register_command("sample", "generate text from a trained transformer", setup);

}  // namespace

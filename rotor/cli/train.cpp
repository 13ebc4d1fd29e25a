// `rotor train`: trains the decoder-only RoPE transformer on a byte-level text. Without arguments it is
// rotor's main job: the King James Bible (extracted once with the `bible` program of Debian's
// bible-kjv package into a cache file; the last 5% held out for validation), a 4-layer 256-wide RoPE
// model (the PyTorch peer's architecture) trained for 600 steps of 8 x 256 bytes with bf16 matmuls,
// about two minutes on 2 cores. --mixer NAME replaces every block's softmax attention by another token
// mixer of rotor/nn (rnn, lstm, gru, linear, performer, flash, local, strided, fixed, s4d, mamba); that
// model is an AutogradGpt trained on the tape (rotor/models/mixer_trainer.h), the default stays the
// fused model. --objective mlm trains a bidirectional encoder with BERT's masked-LM objective instead
// (rotor/models/masked_lm.h), for `rotor finetune`.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <unistd.h>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/kjv_text.h"
#include "rotor/cli/progress.h"
#include "rotor/cli/schedule_flags.h"
#include "rotor/cli/stop_signals.h"
#include "rotor/core/dist.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/models/lm_trainer.h"
#include "rotor/models/mixer_trainer.h"

namespace {

namespace fs = std::filesystem;
using namespace rotor;
using namespace rotor::models;

struct Args {
  std::string data, out, resume, init = "torch", dtype = "bf16", norm = "layernorm", mlp = "gelu", pos = "rope",
              mixer = "softmax", objective = "lm";
  MixerSpec spec;
  int64_t layers = 4, dim = 256, heads = 4, kv_heads = 0, ctx = 256, batch = 8, grad_accum = 1, steps = 600,
          warmup = -1;
  int64_t eval_every = 100, stop_at = 0, checkpoint_activations = 0;
  double lr = 1e-3, lr_min = -1, clip = 1.0, weight_decay = 0.1;
  uint64_t seed = 1;
  bool tied = false, profile = false, shard_optimizer = false;
  int threads = 0;
};

// Options that parse but make no sense: one clear error before anything is allocated or trained.
void check_options(const Args& a, CLI::App& cmd, const TrainOptions& opt) {
  cli::check_schedule_flags(cmd, {opt.lr, opt.lr_min, opt.clip, opt.weight_decay, opt.warmup, opt.steps}, a.lr_min,
                            a.warmup);
  ROTOR_CHECK(a.checkpoint_activations >= 0, "--checkpoint-activations must be a number of blocks >= 1 (0: off), got ",
              a.checkpoint_activations);
  ROTOR_CHECK(a.stop_at <= opt.steps, "--stop-at (", a.stop_at, ") is past the last step (--steps ", opt.steps, ")");
}

// The parameters' memory, estimated from below before allocating: every block has at least the attention
// query/output projections and a 4x MLP (6 dim^2 weights), each weight held as f32 value, gradient and two
// AdamW moments (16 bytes). A model that cannot fit in this machine's memory is refused, not attempted.
void check_model_size(const TransformerConfig& c) {
  const double dim = static_cast<double>(c.dim);
  const double params = static_cast<double>(c.layers) * 6.0 * dim * dim + 2.0 * static_cast<double>(c.vocab) * dim;
  const double bytes = params * 16.0;
  const double ram = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  ROTOR_CHECK(ram <= 0 || bytes <= ram, "model too large: ", c.layers, " layers x ", c.dim, " wide needs at least ",
              params, " parameters, ", bytes / 1e9, " GB for weights, gradients and AdamW "
              "state, and this machine has ", std::llround(ram / 1e9), " GB");
}

// The mixer and its settings from the flags: a flag of another mixer is an error, and so is RoPE on a
// mixer that cannot apply it. Without --pos, the mixers other than softmax and linear get learned
// positions (attention-like ones) or none (recurrent and state-space ones, which know the order).
MixerSpec mixer_from_flags(const Args& a, CLI::App& cmd, TransformerConfig& config) {
  MixerSpec m = a.spec;
  m.kind = mixer_kind_from_name(a.mixer);
  const MixerKind k = m.kind;
  const bool pattern = k == MixerKind::local || k == MixerKind::strided || k == MixerKind::fixed;
  const bool heads = k == MixerKind::softmax || k == MixerKind::linear || k == MixerKind::performer || pattern;
  const bool ordered = k == MixerKind::rnn || k == MixerKind::lstm || k == MixerKind::gru || k == MixerKind::s4d ||
                       k == MixerKind::mamba;
  auto only = [&](const char* flag, bool applies, const char* which) {
    ROTOR_CHECK(cmd.count(flag) == 0 || applies, flag, " applies to the ", which, ", not to --mixer ",
                mixer_kind_name(k));
  };
  only("--features", k == MixerKind::performer, "performer mixer");
  only("--redraw", k == MixerKind::performer, "performer mixer");
  only("--window", pattern, "local, strided and fixed mixers");
  only("--summary", k == MixerKind::fixed, "fixed mixer");
  only("--state", k == MixerKind::s4d || k == MixerKind::mamba, "s4d and mamba mixers");
  only("--chunk", k == MixerKind::linear || k == MixerKind::performer || k == MixerKind::flash || k == MixerKind::mamba,
       "linear, performer, flash and mamba mixers");
  only("--heads", heads, "softmax, linear, performer, local, strided and fixed mixers");
  only("--kv-heads", k == MixerKind::softmax, "softmax mixer (grouped-query attention)");
  const bool relative = config.pos == PositionKind::t5 || config.pos == PositionKind::alibi;
  only("--profile", k == MixerKind::softmax && !relative, "softmax mixer with rope, learned, sinusoidal or no "
       "positions (the fused model's phases)");
  ROTOR_CHECK(!relative || k != MixerKind::softmax || config.kv_heads == config.heads, "--pos ",
              position_kind_name(config.pos), ": needs kv_heads == heads (no grouped-query attention)");
  ROTOR_CHECK(!relative || k == MixerKind::softmax, "--pos ", position_kind_name(config.pos),
              " applies to the softmax mixer only, not ", mixer_kind_name(k));
  if (k == MixerKind::softmax) return m;
  // Without --window: local keeps its window (at most ctx); strided and fixed take the Sparse Transformer's
  // l = round(sqrt(ctx)), so that a query sees about 2 sqrt(ctx) keys and a step costs O(ctx sqrt(ctx)).
  if (cmd.count("--window") == 0)
    m.window = k == MixerKind::local ? std::min(m.window, config.ctx)
                                     : std::max<int64_t>(1, std::lround(std::sqrt(static_cast<double>(config.ctx))));
  if (!heads) config.heads = config.kv_heads = 1;
  if (cmd.count("--pos") == 0 && k != MixerKind::linear)
    config.pos = ordered ? PositionKind::none : PositionKind::learned;
  ROTOR_CHECK(config.pos != PositionKind::rope || k == MixerKind::linear, "--pos rope applies to the softmax and "
              "linear mixers only, not to --mixer ", mixer_kind_name(k), " (use learned, sinusoidal or none)");
  m.validate(config.ctx);
  config.validate();
  return m;
}

// The first stop signal any process received (under mpirun every rank polls, and all stop at the same step).
int stop_signal(const cli::StopSignals& signals) {
  int64_t got[2] = {signals.received() != 0, signals.received()};
  if (dist::size() > 1) dist::allreduce_sum(got, 2);
  return got[0] == 0 ? 0 : got[0] == 1 ? int(got[1]) : SIGTERM;
}

// Trains to the last step, validating and saving every --eval-every steps; prints tokens/s at the end.
// SIGINT or SIGTERM stops it after the current step: the run is saved and rotor::Interrupted thrown.
// `profile` (the fused model's phase timer) may be null.
template <class Trainer>
void train_loop(Trainer& trainer, const Args& a, const TrainOptions& opt, int64_t ctx, const std::string& out,
                PhaseProfile* profile) {
  // under mpirun the other ranks train silently and rank 0 reports and writes the run directory
  const bool root = dist::is_root();
  std::optional<cli::Progress> progress;
  if (root) progress.emplace("train", opt.steps);
  std::vector<double> step_seconds, step_cpu_seconds;
  const double tokens_per_step = double(opt.batch * opt.grad_accum * ctx);
  double smooth_loss = std::nan("");
  const int64_t last_step = a.stop_at > 0 ? std::min(a.stop_at, opt.steps) : opt.steps;
  const int64_t profile_from = trainer.step() + 3;  // the first steps allocate and create primitives
  const cli::StopSignals signals;
  int64_t saved_step = trainer.step();
  while (trainer.step() < last_step) {
    if (profile) profile->set_enabled(a.profile && trainer.step() >= profile_from);
    const double loss = trainer.train_step();
    step_seconds.push_back(trainer.last_compute_seconds());
    step_cpu_seconds.push_back(trainer.last_cpu_seconds());
    smooth_loss = std::isnan(smooth_loss) ? loss : 0.9 * smooth_loss + 0.1 * loss;
    char metrics[128];
    std::snprintf(metrics, sizeof metrics, "loss %.4f  tokens/s %.0f", smooth_loss,
                  tokens_per_step / trainer.last_compute_seconds());
    if (progress) progress->update(trainer.step(), metrics);
    if (trainer.step() % opt.eval_every == 0 || trainer.step() == last_step) {
      if (profile) profile->set_enabled(false);  // the profile covers training steps only
      const double val = trainer.validation_loss();
      trainer.record_validation(val);
      char line[160];
      std::snprintf(line, sizeof line, "step %lld: train loss %.4f, validation loss %.4f", (long long)trainer.step(),
                    loss, val);
      if (progress) progress->message(line);
      if (!out.empty()) trainer.gather_for_save();  // collective (a sharded optimizer's moments to rank 0)
      if (!out.empty() && root) trainer.save(out);
      saved_step = trainer.step();
    }
    if (const int signal = stop_signal(signals)) {
      if (progress) progress->finish();
      if (!out.empty() && saved_step != trainer.step()) {
        trainer.gather_for_save();
        if (root) trainer.save(out);
      }
      double done = 1;
      dist::allreduce_sum(&done, 1);  // no rank exits (which ends the job) before rank 0 has saved
      throw Interrupted(signal, out.empty() ? cat("interrupted by ", cli::signal_name(signal), " after step ",
                                                  trainer.step(), " (no --out: nothing saved)")
                                            : cat("interrupted by ", cli::signal_name(signal), " after step ",
                                                  trainer.step(), "; the run is saved in ", out,
                                                  " (continue with --resume ", out, ")"));
    }
  }
  if (!root) return;
  progress->finish();
  // tokens/s of the timed steps: the median step after the first three (as the PyTorch peer measures)
  auto median_after_warmup = [](const std::vector<double>& v) {
    std::vector<double> timed(v.begin() + std::min<size_t>(3, v.size() - 1), v.end());
    std::sort(timed.begin(), timed.end());
    return timed[timed.size() / 2];
  };
  const double median = median_after_warmup(step_seconds), median_cpu = median_after_warmup(step_cpu_seconds);
  if (!out.empty()) std::fprintf(stderr, "run saved in %s\n", out.c_str());
  // tokens per CPU-second (all threads): with one thread, the speed this machine gives when nothing
  // else competes for it
  const double fastest = *std::min_element(step_seconds.begin() + std::min<size_t>(3, step_seconds.size() - 1),
                                            step_seconds.end());
  std::fprintf(stderr, "median step: %.1f ms wall, %.1f ms cpu; cpu_tokens/s=%.0f; fastest step %.1f ms\n",
               median * 1e3, median_cpu * 1e3, tokens_per_step / median_cpu, fastest * 1e3);
  if (profile && a.profile && !profile->empty())
    std::fprintf(stderr, "time per phase over the last %lld steps:\n%s", (long long)(last_step - profile_from),
                 profile->table(last_step - profile_from).c_str());
  std::printf("tokens/s=%.0f\n", tokens_per_step / median);
}

void report_optimizer_state(int64_t bytes, bool sharded) {
  if (dist::is_root())
    std::fprintf(stderr, "optimizer state: %lld bytes of AdamW moments on rank 0%s\n", (long long)bytes,
                 sharded ? cat(" (sharded over ", dist::size(), " processes)").c_str() : "");
}

void run(const Args& a, CLI::App& cmd) {
  const bool resuming = !a.resume.empty();
  TransformerConfig config;
  TrainOptions opt;
  std::optional<io::Checkpoint> run;  // the saved run, verified as a whole (rotor/io/checkpoint.h)
  MixerSpec resumed_mixer;             // of a resumed run (softmax: the fused model, or T5 / ALiBi)
  bool resumed_encoder = false;        // a resumed --objective mlm run
  if (resuming) {
    for (const char* flag : {"--layers", "--dim", "--heads", "--kv-heads", "--ctx", "--norm", "--mlp", "--pos",
                             "--tied", "--dtype", "--batch", "--grad-accum", "--lr", "--seed", "--warmup", "--clip",
                             "--init", "--weight-decay", "--mixer", "--features", "--redraw", "--window",
                             "--summary", "--state", "--chunk", "--objective"})
      ROTOR_CHECK(cmd.count(flag) == 0, "--resume continues the run in ", a.resume, " with its own settings; ", flag,
                  " cannot be changed");
    run = load_run(a.resume);
    if (run->config.is_object() && run->config.contains("mixer")) {  // a run trained on the tape
      ROTOR_CHECK(run->state.extra.contains("options"), a.resume, " holds a run saved without its optimizer state "
                  "(by a rotor before runs trained on the tape could resume); it cannot be continued exactly");
      const MixerRunConfig saved = mixer_run_config(run->config, a.resume + "/config.json");
      config = saved.config;
      resumed_mixer = saved.mixer;
      resumed_encoder = saved.bidirectional;
    } else {
      config = config_from_json(run->config, a.resume + "/config.json");
    }
    opt = run_options(*run, a.resume);
    if (cmd.count("--steps")) opt.steps = a.steps;
  } else {
    config.layers = a.layers;
    config.dim = a.dim;
    config.heads = a.heads;
    config.kv_heads = a.kv_heads > 0 ? a.kv_heads : a.heads;
    config.ctx = a.ctx;
    config.vocab = 256;
    config.norm = norm_kind_from_name(a.norm);
    config.mlp = mlp_kind_from_name(a.mlp);
    config.pos = position_kind_from_name(a.pos);
    config.tied_head = a.tied;
    config.bias = config.norm == NormKind::layernorm;
    config.validate();
    opt.batch = a.batch;
    opt.grad_accum = a.grad_accum;
    opt.steps = a.steps;
    opt.warmup = a.warmup >= 0 ? a.warmup : std::min<int64_t>(100, a.steps / 10);
    opt.lr = a.lr;
    opt.lr_min = a.lr_min >= 0 ? a.lr_min : a.lr / 10;
    opt.clip = a.clip;
    opt.weight_decay = a.weight_decay;
    opt.seed = a.seed;
    opt.precision = precision_from_name(a.dtype);
    opt.eval_every = a.eval_every;
    ROTOR_CHECK(a.init == "gpt2" || a.init == "torch", "unknown --init '", a.init, "' (expected gpt2 or torch)");
    opt.init = a.init == "torch" ? Transformer::Init::torch : Transformer::Init::gpt2;
  }
  ROTOR_CHECK(a.objective == "lm" || a.objective == "mlm", "unknown --objective '", a.objective,
              "' (expected lm or mlm)");
  const bool masked_lm = resuming ? resumed_encoder : a.objective == "mlm";
  if (masked_lm && !resuming) {
    ROTOR_CHECK(mixer_kind_from_name(a.mixer) == MixerKind::softmax, "--objective mlm trains a softmax-attention encoder, not --mixer ", a.mixer);
    ROTOR_CHECK(cmd.count("--profile") == 0, "--profile times the fused decoder, not the --objective mlm encoder");
    config.vocab = 257;  // the bytes and [MASK]
    if (cmd.count("--pos") == 0) config.pos = PositionKind::learned;
    ROTOR_CHECK(config.pos != PositionKind::rope, "--objective mlm: --pos rope is not supported by the encoder "
                "(use learned, sinusoidal or none)");
  }
  const MixerSpec mixer = resuming ? resumed_mixer : mixer_from_flags(a, cmd, config);
  ROTOR_CHECK(opt.eval_every >= 1, "--eval-every must be >= 1, got ", opt.eval_every);
  check_options(a, cmd, opt);
  check_model_size(config);
  const std::string out = !a.out.empty() ? a.out : a.resume;
  ROTOR_CHECK(out.empty() || !fs::exists(out) || fs::is_directory(out), "--out ", out,
              " exists and is not a directory (the run directory holds config.json, model.safetensors ...)");
  if (!out.empty()) io::check_checkpoint_target(out, "--out");
  if (!out.empty()) {
    std::error_code ec;
    fs::create_directories(out, ec);
    ROTOR_CHECK(!ec, "--out ", out, ": cannot create the run directory: ", ec.message());
  }
  ROTOR_CHECK(a.data.empty() || !fs::is_directory(a.data), "--data ", a.data,
              " is a directory; pass a text file (its bytes are the training data)");
  const std::string data = a.data.empty() ? cli::kjv_text_path() : a.data;
  const ByteCorpus corpus = ByteCorpus::load(data);

  auto report = [&](int64_t params) {
    if (!dist::is_root()) return;
    const std::string accumulated = opt.grad_accum > 1 ? cat(" x ", opt.grad_accum, " accumulated") : "";
    const std::string mixed = mixer.kind == MixerKind::softmax ? cat(config.heads, " heads (", config.kv_heads, " kv)")
                                                               : cat("mixer ", mixer_kind_name(mixer.kind));
    std::fprintf(stderr, "rotor train: %s, %lld parameters, %lld layers x %lld wide, %s, ctx %lld, batch %lld%s, %s, "
                 "%d threads\n",
                 data.c_str(), (long long)params, (long long)config.layers, (long long)config.dim, mixed.c_str(),
                 (long long)config.ctx, (long long)opt.batch, accumulated.c_str(),
                 opt.precision == Precision::bf16 ? "bf16" : "f32", rotor::num_threads());
    if (dist::size() > 1)
      std::fprintf(stderr, "rotor train: data parallel over %d processes, %lld sequences of each batch per process\n",
                   dist::size(), (long long)(opt.batch / dist::size()));
  };
  // continues the saved run when resuming, then trains to the end
  auto resume_and_train = [&](auto& trainer, int64_t params, PhaseProfile* profile) {
    if (resuming) {
      trainer.restore(*run, a.resume);
      run.reset();
      ROTOR_CHECK(trainer.step() < opt.steps, a.resume, " already holds ", trainer.step(),
                  " steps; pass --steps larger than that to continue");
    }
    report(params);
    train_loop(trainer, a, opt, config.ctx, out, profile);
    if (dist::size() > 1 && dist::is_root())
      std::fprintf(stderr, "data parallel: %d processes, %lld bytes of gradients allreduced per step by each\n",
                   dist::size(), (long long)trainer.allreduced_bytes());
  };
  const bool on_tape = masked_lm || mixer.kind != MixerKind::softmax || config.pos == PositionKind::t5 ||
                       config.pos == PositionKind::alibi;
  if (on_tape) {
    Rng init(opt.seed ^ 0x313e7ULL);
    AutogradGpt model(config, mixer, init);
    model.set_checkpoint_every(a.checkpoint_activations);
    model.set_bidirectional(masked_lm);
    MixerTrainer trainer(model, corpus, opt);
    trainer.set_shard_optimizer(a.shard_optimizer);
    resume_and_train(trainer, model.parameter_count(), nullptr);
    report_optimizer_state(trainer.optimizer_state_bytes(), a.shard_optimizer);
    return;
  }
  Transformer model(config);
  model.set_checkpoint_every(a.checkpoint_activations);
  LmTrainer trainer(model, corpus, opt);
  trainer.set_shard_optimizer(a.shard_optimizer);
  resume_and_train(trainer, model.num_parameters(), &model.profile());
  report_optimizer_state(trainer.optimizer_state_bytes(), a.shard_optimizer);
}

void setup(CLI::App& cmd) {
  static Args a;
  cmd.add_option("--data", a.data, "training text, read as bytes (default: the King James Bible via `bible`)");
  cmd.add_option("--layers", a.layers, "transformer blocks")->check(rotor::cli::positive);
  cmd.add_option("--dim", a.dim, "model width")->check(rotor::cli::positive);
  cmd.add_option("--heads", a.heads, "attention heads")->check(rotor::cli::positive);
  cmd.add_option("--kv-heads", a.kv_heads, "key/value heads (grouped-query attention; default: --heads)")
      ->check(rotor::cli::positive);
  cmd.add_option("--ctx", a.ctx, "context length (tokens per sequence)")->check(rotor::cli::positive);
  cmd.add_option("--batch", a.batch, "sequences per forward/backward pass")->check(rotor::cli::positive);
  cmd.add_option("--grad-accum", a.grad_accum,
                 "gradient accumulation: passes of --batch sequences averaged per optimizer step (default 1)")
      ->check(rotor::cli::positive);
  cmd.add_option("--steps", a.steps, "total optimizer steps")->check(rotor::cli::positive);
  cmd.add_option("--lr", a.lr, "peak learning rate");
  cmd.add_option("--lr-min", a.lr_min, "final learning rate of the cosine schedule (default: lr/10)");
  cmd.add_option("--warmup", a.warmup, "linear warmup steps (default: min(100, steps/10))");
  cmd.add_option("--clip", a.clip, "global gradient-norm clipping (0: off)");
  cmd.add_option("--weight-decay", a.weight_decay, "AdamW decoupled weight decay on matrices");
  cmd.add_option("--eval-every", a.eval_every, "validation and checkpoint interval in steps");
  cmd.add_option("--init", a.init, "parameter initialisation: gpt2 (N(0, 0.02)) or torch (PyTorch module defaults)");
  cmd.add_option("--seed", a.seed, "random seed (initialisation and batches)");
  cmd.add_option("--dtype", a.dtype, "f32, or bf16 (bf16 matmuls, f32 master weights)");
  cmd.add_option("--norm", a.norm, "layernorm or rmsnorm");
  cmd.add_option("--mlp", a.mlp, "gelu, gelu_tanh, swiglu or geglu");
  cmd.add_option("--pos", a.pos,
                 "rope, sinusoidal, learned, none, or the attention biases t5 (bucketed, learned) and alibi (softmax "
                 "mixer; trained on the tape) (default rope; with --mixer: learned for performer, flash and the "
                 "sparse patterns, none for rnn, lstm, gru, s4d and mamba)");
  cmd.add_option("--mixer", a.mixer, std::string("token mixer of every block: ") + mixer_kind_names() +
                 " (default softmax: the fused attention model)");
  cmd.add_option("--objective", a.objective,
                 "lm (next byte, the default) or mlm: BERT's masked LM on a bidirectional softmax encoder (15% of "
                 "the bytes chosen: 80% [MASK], 10% a random byte, 10% kept; learned positions by default), the "
                 "encoder `rotor finetune` starts from");
  cmd.add_option("--features", a.spec.features, "performer: random features per head (default 64)");
  cmd.add_option("--redraw", a.spec.redraw, "performer: draw new random features every N steps (default 0: never)");
  cmd.add_option("--window", a.spec.window,
                 "local: attention window (default 32, at most --ctx); strided, fixed: stride / block length (default "
                 "round(sqrt(--ctx)))");
  cmd.add_option("--summary", a.spec.summary, "fixed: summary columns per block (default 1)");
  cmd.add_option("--state", a.spec.state, "s4d, mamba: state size N (default 16)");
  cmd.add_option("--chunk", a.spec.chunk, "linear, performer, flash, mamba: chunk length of the parallel form (default 64)");
  cmd.add_flag("--tied", a.tied, "tie the output head to the token embedding");
  cmd.add_flag("--checkpoint-activations{1}", a.checkpoint_activations,
               "gradient checkpointing: keep only the residual stream entering every K-th block "
               "(--checkpoint-activations=K; K = 1 without a value) and recompute the rest in the backward "
               "pass; same gradients, less memory, up to one more forward pass per step");
  cmd.add_flag("--shard-optimizer", a.shard_optimizer,
               "ZeRO-1 under mpirun: each process keeps and updates the AdamW moments of its slice of the "
               "parameters, then the parameters are allgathered (the fused transformer: slices of one flat buffer; "
               "models trained on the tape: whole parameters dealt to the processes); the same run");
  cmd.add_flag("--profile", a.profile, "print the time of each phase of a step (matmuls, attention, norms ...) at the end");
  cmd.add_option("--out", a.out, "run directory (config.json, model.safetensors, metrics.csv, loss.svg)");
  cmd.add_option("--resume", a.resume, "continue the run saved in this directory");
  cmd.add_option("--stop-at", a.stop_at, "stop (and save) after this step of the --steps schedule; continue later with --resume")
      ->check(rotor::cli::positive);
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([&cmd] { run(a, cmd); });
}

const bool registered = rotor::cli::register_command("train", "train the byte-level RoPE transformer", setup);

}  // namespace

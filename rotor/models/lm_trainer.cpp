#include "rotor/models/lm_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <tuple>

#include "rotor/core/dist.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/io/checkpoint.h"
#include "rotor/io/safetensors.h"
#include "rotor/kernels/bf16_convert.h"
#include "rotor/models/loss_plot.h"
#include "rotor/optim/adam.h"
#include "rotor/optim/clip.h"
#include "rotor/optim/schedule.h"

namespace rotor::models {

namespace fs = std::filesystem;

double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

nlohmann::json train_options_to_json(const TrainOptions& o) {
  return {{"batch", o.batch},   {"grad_accum", o.grad_accum}, {"steps", o.steps},   {"warmup", o.warmup},
          {"eval_every", o.eval_every}, {"eval_batches", o.eval_batches}, {"lr", o.lr}, {"lr_min", o.lr_min},
          {"weight_decay", o.weight_decay}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
          {"clip", o.clip},     {"seed", o.seed},         {"dtype", o.precision == Precision::bf16 ? "bf16" : "f32"},
          {"init", o.init == Transformer::Init::torch ? "torch" : "gpt2"}};
}

TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& where) {
  ROTOR_CHECK(j.is_object(), where, ": training options must be a JSON object");
  TrainOptions o;
  static const std::set<std::string> known = {"batch", "grad_accum", "steps", "warmup", "eval_every", "eval_batches",
                                              "lr",    "lr_min",     "weight_decay", "beta1", "beta2", "eps",
                                              "clip",  "seed",       "dtype", "init"};
  for (auto it = j.begin(); it != j.end(); ++it)
    ROTOR_CHECK(known.count(it.key()), where, ": unknown training option '", it.key(), "'");
  try {
    o.batch = j.value("batch", o.batch);
    o.grad_accum = j.value("grad_accum", o.grad_accum);  // runs saved before the option: 1
    o.steps = j.value("steps", o.steps);
    o.warmup = j.value("warmup", o.warmup);
    o.eval_every = j.value("eval_every", o.eval_every);
    o.eval_batches = j.value("eval_batches", o.eval_batches);
    o.lr = j.value("lr", o.lr);
    o.lr_min = j.value("lr_min", o.lr_min);
    o.weight_decay = j.value("weight_decay", o.weight_decay);
    o.beta1 = j.value("beta1", o.beta1);
    o.beta2 = j.value("beta2", o.beta2);
    o.eps = j.value("eps", o.eps);
    o.clip = j.value("clip", o.clip);
    o.seed = j.value("seed", o.seed);
    o.precision = precision_from_name(j.value("dtype", std::string("f32")));
    const std::string init = j.value("init", std::string("gpt2"));
    ROTOR_CHECK(init == "gpt2" || init == "torch", where, ": unknown init '", init, "' (expected gpt2 or torch)");
    o.init = init == "torch" ? Transformer::Init::torch : Transformer::Init::gpt2;
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(where, ": bad training option: ", e.what()));
  }
  return o;
}

LmTrainer::LmTrainer(Transformer& model, const ByteCorpus& corpus, const TrainOptions& opt)
    : model_(model), corpus_(corpus), opt_(opt), rng_(opt.seed) {
  ROTOR_CHECK(opt.batch >= 1, "--batch must be >= 1, got ", opt.batch);
  ROTOR_CHECK(opt.grad_accum >= 1, "--grad-accum must be >= 1, got ", opt.grad_accum);
  ROTOR_CHECK(opt.steps >= 1, "--steps must be >= 1, got ", opt.steps);
  ROTOR_CHECK(opt.lr > 0 && std::isfinite(opt.lr), "--lr must be a positive number, got ", opt.lr);
  corpus.check_context(model.config().ctx);
  data_ = corpus_fingerprint(corpus);
  Rng init(opt.seed ^ 0x5eed1417ULL);
  model_.init_parameters(init, opt.init);
  model_.set_precision(opt.precision);
  shard_end_ = model_.num_parameters();
  m_.assign(size_t(shard_end_), 0.0f);
  v_.assign(size_t(shard_end_), 0.0f);
  const int64_t T = model.config().ctx;
  x_.resize(opt.batch * T);
  y_.resize(opt.batch * T);
  check_data_parallel(opt, model.num_parameters(), corpus);
}

void check_data_parallel(const TrainOptions& opt, int64_t num_parameters, const ByteCorpus& corpus) {
  // data parallel (mpirun -np N): every rank draws the same global batches and takes an equal share of
  // their rows; the same model and options everywhere, or all ranks stop before training
  const int64_t N = dist::size();
  ROTOR_CHECK(opt.batch % N == 0, "--batch ", opt.batch, " must be a multiple of the ", N,
              " processes (each takes an equal share of every batch)");
  dist::check_same(num_parameters, "the number of model parameters");
  dist::check_same(opt.batch, "--batch");
  dist::check_same(opt.grad_accum, "--grad-accum");
  dist::check_same(opt.steps, "--steps");
  dist::check_same(static_cast<int64_t>(opt.seed), "--seed");
  dist::check_same(int64_t(corpus.train.size()), "the training data's size");
}

double LmTrainer::train_step() {
  const int64_t T = model_.config().ctx, B = opt_.batch;
  saved_m_ = {};  // the moments gathered for the last save (sharded)
  saved_v_ = {};
  sample_windows(corpus_.train, rng_, B, T, x_.data(), y_.data());
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  {
    auto zero_scope = model_.profile().time("zero gradients");
    model_.zero_grad();
  }
  // the backward passes add into the gradients: their sum over the micro-batches, then / grad_accum.
  // With N processes this rank runs rows [rank B/N, (rank + 1) B/N) of each batch; in the last
  // micro-batch each block's gradients start their allreduce as soon as its backward is done.
  const int64_t N = dist::size(), local = B / N, first_row = dist::rank() * local;
  dist::AsyncSum sums;
  double loss = 0;
  for (int64_t micro = 0; micro < opt_.grad_accum; ++micro) {
    if (micro > 0) sample_windows(corpus_.train, rng_, B, T, x_.data(), y_.data());
    if (N > 1 && micro == opt_.grad_accum - 1)
      model_.set_gradient_ready_hook([&](int64_t offset, int64_t count) { sums.start(model_.grads() + offset, count); });
    double part = 0;
    try {
      part = model_.forward_backward(x_.data() + first_row * T, y_.data() + first_row * T, local, T);
    } catch (...) {
      model_.set_gradient_ready_hook(nullptr);
      throw;
    }
    model_.set_gradient_ready_hook(nullptr);
    ROTOR_CHECK(std::isfinite(part), "training: loss is ", part, " at step ", step_ + 1,
                " (the run diverged; try a lower --lr)");
    loss += part;
  }
  const int64_t n = model_.num_parameters();
  if (N > 1) {
    auto sum_scope = model_.profile().time("gradient allreduce (wait)");
    sums.wait();
    allreduced_bytes_ = sums.bytes();
    dist::allreduce_sum(&loss, 1);
  }
  auto update_scope = model_.profile().time("gradient norm and AdamW");
  if (opt_.grad_accum > 1 || N > 1) {
    loss /= double(opt_.grad_accum * N);
    const float inv = 1.0f / float(opt_.grad_accum * N);
    float* g = model_.grads();
    for (int64_t i = 0; i < n; ++i) g[i] *= inv;
  }
  const double norm = opt_.clip > 0 ? optim::clip_global_norm(model_.grads(), n, opt_.clip)
                                    : optim::global_norm(model_.grads(), n);
  ROTOR_CHECK(std::isfinite(norm), "training: gradient norm is ", norm, " at step ", step_ + 1);
  const optim::WarmupCosine schedule{opt_.lr, opt_.lr_min, opt_.warmup, opt_.steps};
  const double lr = schedule.at(step_);
  optim::AdamOptions adam{opt_.beta1, opt_.beta2, opt_.eps, 0.0, true};
  // in bf16 precision AdamW also writes the bf16 weight copy the next forward pass reads
  float* params = model_.params();
  bf16* params16 = model_.precision() == Precision::bf16 ? model_.weights16() : nullptr;
  if (!shard_) {
    for (const ParameterInfo& p : model_.parameters()) {
      adam.weight_decay = p.decay ? opt_.weight_decay : 0.0;
      optim::adam_step(params + p.offset, model_.grads() + p.offset, m_.data() + p.offset, v_.data() + p.offset,
                       p.numel, lr, step_ + 1, adam, params16 ? params16 + p.offset : nullptr);
    }
  } else {
    // ZeRO-1: this rank's slice of every parameter it overlaps, then every rank's slices to every rank
    for (const ParameterInfo& p : model_.parameters()) {
      const int64_t begin = std::max(p.offset, shard_begin_), end = std::min(p.offset + p.numel, shard_end_);
      if (begin >= end) continue;
      adam.weight_decay = p.decay ? opt_.weight_decay : 0.0;
      optim::adam_step(params + begin, model_.grads() + begin, m_.data() + (begin - shard_begin_),
                       v_.data() + (begin - shard_begin_), end - begin, lr, step_ + 1, adam);
    }
    {
      auto gather_scope = model_.profile().time("parameter allgather (sharded AdamW)");
      dist::allgather_shares(params, n);
    }
    if (params16) kernels::float_to_bf16_buffer(params16, params, n);
  }
  if (params16) model_.mark_weights16_current();
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  last_cpu_seconds_ = process_cpu_seconds() - cpu0;
  ++step_;
  metrics_.push_back({step_, loss, std::nan(""), lr, norm});
  return loss;
}

void LmTrainer::set_shard_optimizer(bool on) {
  ROTOR_CHECK(step_ == 0, "--shard-optimizer: set before the first step");
  const int64_t n = model_.num_parameters();
  shard_ = on;
  std::tie(shard_begin_, shard_end_) = on ? dist::share(n) : std::pair<int64_t, int64_t>{0, n};
  m_.assign(size_t(shard_end_ - shard_begin_), 0.0f);
  v_.assign(size_t(shard_end_ - shard_begin_), 0.0f);
}

void LmTrainer::gather_for_save() {
  if (!shard_) return;
  const int64_t n = model_.num_parameters();
  const bool root = dist::is_root();
  saved_m_.assign(root ? size_t(n) : 0, 0.0f);
  saved_v_.assign(root ? size_t(n) : 0, 0.0f);
  dist::gather_shares(m_.data(), root ? saved_m_.data() : nullptr, n);
  dist::gather_shares(v_.data(), root ? saved_v_.data() : nullptr, n);
}

double LmTrainer::validation_loss() {
  const int64_t T = model_.config().ctx, B = opt_.batch;
  Rng val_rng(0x7a11da7eULL);
  const int64_t N = dist::size(), local = B / N, first_row = dist::rank() * local;
  double total = 0;
  for (int64_t i = 0; i < opt_.eval_batches; ++i) {
    sample_windows(corpus_.val, val_rng, B, T, x_.data(), y_.data());
    total += model_.forward(x_.data() + first_row * T, y_.data() + first_row * T, local, T);
  }
  dist::allreduce_sum(&total, 1);
  return total / double(opt_.eval_batches * N);
}

void LmTrainer::record_validation(double val_loss) {
  if (!metrics_.empty()) metrics_.back().val_loss = val_loss;
}

// ------------------------------------------------------------------------------------ files

namespace {

Tensor flat_tensor(const float* data, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::f32);
  std::memcpy(t.data<float>(), data, sizeof(float) * shape_numel(shape));
  return t;
}

void copy_checked(float* dst, const io::TensorMap& tensors, const std::string& name, const Shape& shape,
                  const std::string& where) {
  auto it = tensors.find(name);
  ROTOR_CHECK(it != tensors.end(), where, ": tensor '", name, "' is missing");
  const Tensor& t = it->second;
  ROTOR_CHECK(t.shape() == shape, where, ": tensor '", name, "' has shape ", shape_str(t.shape()), ", expected ",
              shape_str(shape));
  ROTOR_CHECK(t.dtype() == DType::f32, where, ": tensor '", name, "' has dtype ", dtype_name(t.dtype()),
              ", expected f32");
  const Tensor c = t.contiguous();
  std::memcpy(dst, c.data<float>(), sizeof(float) * shape_numel(shape));
}

}  // namespace

std::string metrics_csv(const std::vector<MetricRow>& rows) {
  std::ostringstream out;
  out << "step,train_loss,val_loss,lr,grad_norm\n";
  out.precision(9);
  for (const auto& r : rows) {
    out << r.step << ',' << r.train_loss << ',';
    if (std::isfinite(r.val_loss)) out << r.val_loss;
    out << ',' << r.lr << ',' << r.grad_norm << '\n';
  }
  return out.str();
}

namespace {


std::vector<MetricRow> parse_metrics_csv(const std::string& text, const std::string& where) {
  std::vector<MetricRow> rows;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  ROTOR_CHECK(line == "step,train_loss,val_loss,lr,grad_norm", where, ": unexpected header '", line, "'");
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (!line.empty() && line.back() == ',') f.push_back("");
    ROTOR_CHECK(f.size() == 5, where, ":", line_no, ": expected 5 fields, got ", f.size());
    try {
      MetricRow r;
      r.step = std::stoll(f[0]);
      r.train_loss = std::stod(f[1]);
      r.val_loss = f[2].empty() ? std::nan("") : std::stod(f[2]);
      r.lr = std::stod(f[3]);
      r.grad_norm = std::stod(f[4]);
      rows.push_back(r);
    } catch (const std::exception&) {
      throw Error(cat(where, ":", line_no, ": cannot parse '", line, "'"));
    }
  }
  return rows;
}

io::TensorMap parameter_tensors(const Transformer& model) {
  io::TensorMap tensors;
  for (const auto& p : model.parameters()) tensors[p.name] = flat_tensor(model.params() + p.offset, p.shape);
  return tensors;
}

}  // namespace

void save_model(const Transformer& model, const std::string& dir) {
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", config_to_json(model.config()).dump(2) + "\n");
  io::save_safetensors(dir + "/model.safetensors", parameter_tensors(model), {{"format", "rotor-transformer"}});
}

void load_parameters(Transformer& model, const std::string& path) {
  const io::TensorMap tensors = io::load_safetensors(path);
  std::set<std::string> expected;
  for (const auto& p : model.parameters()) {
    copy_checked(model.params() + p.offset, tensors, p.name, p.shape, path);
    expected.insert(p.name);
  }
  for (const auto& [name, t] : tensors)
    ROTOR_CHECK(expected.count(name), path, ": unexpected tensor '", name, "' for this model config");
}

std::unique_ptr<Transformer> load_model(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(io::read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat(config_path, ": invalid JSON: ", e.what()));
  }
  auto model = std::make_unique<Transformer>(config_from_json(j, config_path));
  load_parameters(*model, dir + "/model.safetensors");
  return model;
}

void LmTrainer::save(const std::string& dir) const {
  io::Checkpoint run;
  run.config = config_to_json(model_.config());
  run.model = parameter_tensors(model_);
  const int64_t n = model_.num_parameters();
  ROTOR_CHECK(!shard_ || int64_t(saved_m_.size()) == n, "save: a sharded optimizer's moments were not gathered "
              "(gather_for_save on every rank first)");
  const float* m = shard_ ? saved_m_.data() : m_.data();
  const float* v = shard_ ? saved_v_.data() : v_.data();
  run.optimizer = {{"adam.m", flat_tensor(m, {n})}, {"adam.v", flat_tensor(v, {n})}};
  run.state.step = step_;
  run.state.rng = rng_.state();
  run.state.extra = run_extra(opt_, data_);
  run.files["metrics.csv"] = metrics_csv(metrics_);
  run.files["loss.svg"] = loss_plot_svg(metrics_);
  io::save_checkpoint(dir, run);
}

io::Checkpoint load_run(const std::string& dir) {
  ROTOR_CHECK(fs::is_directory(dir), "--resume ", dir, ": not a directory");
  ROTOR_CHECK(io::checkpoint_exists(dir), "--resume ", dir, ": holds no complete saved run (no training_state.json",
              fs::exists(fs::path(dir) / "trainer_state.json") ? "; trainer_state.json is the layout of an older rotor"
                                                                 : "",
              ")");
  return io::load_checkpoint(dir);
}

TrainOptions run_options(const io::Checkpoint& run, const std::string& dir) {
  const std::string where = dir + "/training_state.json";
  ROTOR_CHECK(run.state.extra.contains("options"), where, ": no training options (extra.options)");
  return train_options_from_json(run.state.extra["options"], where);
}

void LmTrainer::restore(const std::string& dir) { restore(load_run(dir), dir); }

io::Fingerprint corpus_fingerprint(const ByteCorpus& corpus) {
  io::Fingerprint data;
  data.add(corpus.train.data(), corpus.train.size());
  data.add(corpus.val.data(), corpus.val.size());
  return data;
}

nlohmann::json run_extra(const TrainOptions& opt, const io::Fingerprint& data) {
  return {{"options", train_options_to_json(opt)}, {"data", io::fingerprint_to_json(data)}};
}

std::vector<MetricRow> verify_run(const io::Checkpoint& run, const std::string& dir, const nlohmann::json& config,
                                  const TrainOptions& opt, const io::Fingerprint& data, const std::string& source) {
  const std::string state_path = dir + "/training_state.json";
  ROTOR_CHECK(run.config == config, dir, "/config.json describes another model than this one (", run.config.dump(),
              " vs ", config.dump(), ")");
  // the options are the run's, except the length of the schedule (--steps)
  nlohmann::json saved = train_options_to_json(run_options(run, dir)), own = train_options_to_json(opt);
  saved.erase("steps");
  own.erase("steps");
  for (const auto& [key, value] : own.items())
    ROTOR_CHECK(saved.contains(key) && saved[key] == value, dir, " was trained with ", key, " ",
                saved.contains(key) ? saved[key].dump() : "(unset)", ", this trainer has ", value.dump());
  ROTOR_CHECK(run.state.extra.contains("data"), state_path, ": no fingerprint of the training data (extra.data)");
  const io::Fingerprint trained = io::fingerprint_from_json(run.state.extra["data"], state_path + ": extra.data");
  ROTOR_CHECK(trained == data, "--data ", source, " is not the text ", dir, " was trained on (it has ", data.str(),
              "; the run's text had ", trained.str(), ")");
  const std::string metrics_path = dir + "/metrics.csv";
  const auto csv = run.files.find("metrics.csv");
  ROTOR_CHECK(csv != run.files.end(), metrics_path, " is not part of the saved run");
  std::vector<MetricRow> metrics = parse_metrics_csv(csv->second, metrics_path);
  const int64_t step = run.state.step;
  ROTOR_CHECK(int64_t(metrics.size()) == step, metrics_path, " has ", metrics.size(), " rows, the run is at step ",
              step);
  for (int64_t i = 0; i < step; ++i)
    ROTOR_CHECK(metrics[i].step == i + 1, metrics_path, ": row ", i + 1, " is step ", metrics[i].step);
  return metrics;
}

void LmTrainer::restore(const io::Checkpoint& run, const std::string& dir) {
  std::vector<MetricRow> metrics =
      verify_run(run, dir, config_to_json(model_.config()), opt_, data_, corpus_.source);
  const int64_t n = model_.num_parameters();
  for (const auto& p : model_.parameters())
    copy_checked(model_.params() + p.offset, run.model, p.name, p.shape, dir + "/model.safetensors");
  ROTOR_CHECK(run.model.size() == model_.parameters().size(), dir,
              "/model.safetensors holds tensors this model does not have");
  // the full moments, of which a sharded optimizer keeps its slice
  std::vector<float> m(static_cast<size_t>(n)), v(static_cast<size_t>(n));
  copy_checked(m.data(), run.optimizer, "adam.m", {n}, dir + "/optimizer.safetensors");
  copy_checked(v.data(), run.optimizer, "adam.v", {n}, dir + "/optimizer.safetensors");
  m_.assign(m.begin() + shard_begin_, m.begin() + shard_end_);
  v_.assign(v.begin() + shard_begin_, v.begin() + shard_end_);
  rng_.set_state(run.state.rng);
  step_ = run.state.step;
  metrics_ = std::move(metrics);
}

}  // namespace rotor::models

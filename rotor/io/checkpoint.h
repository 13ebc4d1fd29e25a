#pragma once
// Training checkpoints: a directory
//
//   DIR/config.json            the model configuration (any JSON object, written by the caller)
//   DIR/model.safetensors      model weights
//   DIR/optimizer.safetensors  optimizer state (may hold no tensors)
//   DIR/training_state.json    step, RNG state, data position, extra trainer state, and the size and
//                              CRC-32 of every other file of the checkpoint
//   DIR/<name>                 any further files of the caller (Checkpoint::files: metrics.csv, loss.svg)
//
// written so that a crash at any moment never leaves a half-written checkpoint that loads:
//   1. everything is written into a staging directory DIR.tmp-<pid> beside DIR (each file fsynced;
//      training_state.json last, and a directory without it is never loaded). Other files already in DIR
//      (metrics.csv, loss.svg, ...) are hard-linked (or copied) into the staging directory, so they survive;
//      with hard links, a MetricsCsv that stays open across a save keeps appending to the same file.
//   2. the staging directory replaces DIR in one step: renameat2(RENAME_EXCHANGE) swaps the two
//      directories atomically (then the old one is deleted), or, when DIR does not exist yet, rename().
//      Filesystems without RENAME_EXCHANGE get two renames: DIR -> DIR.old-<pid>, staging -> DIR.
//      A crash between them leaves no DIR, and load_checkpoint(DIR) then loads the complete
//      DIR.old-<pid> instead.
// Leftover DIR.tmp-<pid> / DIR.old-<pid> directories of dead processes are removed by the next save.
// The step is also stored in both safetensors files' metadata ("rotor_checkpoint_step"), and loading
// checks that it agrees with training_state.json, and that every file still has the size and CRC-32
// recorded when it was saved (a file edited, truncated or copied in from another save is an error).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rotor/core/rng.h"
#include "rotor/io/safetensors.h"

namespace rotor::io {

struct TrainingState {
  int64_t step = 0;             // optimizer steps taken
  Rng::State rng{};             // the trainer's generator, to continue the same stream
  int64_t data_position = 0;    // where the data loader resumes (its own unit: batches, tokens, ...)
  nlohmann::json extra = nlohmann::json::object();  // anything else the trainer needs
};

struct Checkpoint {
  nlohmann::json config = nlohmann::json::object();
  TensorMap model;
  TensorMap optimizer;
  TrainingState state;
  std::map<std::string, std::string> files;  // further files saved in the same unit: name -> contents
};

// Size and CRC-32 (zlib) of some bytes: what a checkpoint records of each of its files, and what a
// trainer records of its training data.
struct Fingerprint {
  int64_t bytes = 0;
  uint32_t crc32 = 0;
  void add(const void* data, size_t n);  // extends the fingerprint by n more bytes
  bool operator==(const Fingerprint&) const = default;
  std::string str() const;  // "123 bytes, crc32 0a1b2c3d"
};
Fingerprint file_fingerprint(const std::string& path);
nlohmann::json fingerprint_to_json(const Fingerprint& f);
Fingerprint fingerprint_from_json(const nlohmann::json& j, const std::string& where);

// For tests: after_step(name) runs after each step of a save ("config", "model", "optimizer", "files",
// "carried", "state", "staged", "moved_old", "swapped") so a test can throw or exit there.
struct CheckpointSaveOptions {
  std::function<void(std::string_view step)> after_step;
  bool allow_exchange = true;  // false forces the two-rename path
};

void save_checkpoint(const std::string& dir, const Checkpoint& checkpoint, const CheckpointSaveOptions& options = {});
Checkpoint load_checkpoint(const std::string& dir);
// Throws unless `dir` can receive a checkpoint: absent, an empty directory, or one holding a checkpoint
// (so that a save never swaps away a directory of other files). `what` names it in the message.
void check_checkpoint_target(const std::string& dir, const std::string& what);
// True when load_checkpoint(dir) would find a complete checkpoint (DIR or a DIR.old-<pid> fallback).
bool checkpoint_exists(const std::string& dir);

nlohmann::json training_state_to_json(const TrainingState& state);
// A generator's state as JSON (training_state.json's "rng"; also for a trainer's further generators).
nlohmann::json rng_state_to_json(const Rng::State& rng);
Rng::State rng_state_from_json(const nlohmann::json& j, const std::string& where);
TrainingState training_state_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace rotor::io

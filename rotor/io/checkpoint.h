#pragma once
// Training checkpoints: a directory
//
//   DIR/config.json            the model configuration (any JSON object, written by the caller)
//   DIR/model.safetensors      model weights
//   DIR/optimizer.safetensors  optimizer state (may hold no tensors)
//   DIR/training_state.json    step, RNG state, data position, extra trainer state
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
// checks that it agrees with training_state.json.
#include <cstdint>
#include <functional>
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
};

// For tests: after_step(name) runs after each step of a save ("config", "model", "optimizer",
// "carried", "state", "staged", "moved_old", "swapped") so a test can throw or exit there.
struct CheckpointSaveOptions {
  std::function<void(std::string_view step)> after_step;
  bool allow_exchange = true;  // false forces the two-rename path
};

void save_checkpoint(const std::string& dir, const Checkpoint& checkpoint, const CheckpointSaveOptions& options = {});
Checkpoint load_checkpoint(const std::string& dir);
// True when load_checkpoint(dir) would find a complete checkpoint (DIR or a DIR.old-<pid> fallback).
bool checkpoint_exists(const std::string& dir);

nlohmann::json training_state_to_json(const TrainingState& state);
TrainingState training_state_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace rotor::io

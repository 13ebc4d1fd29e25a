#include "rotor/io/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "rotor/io/atomic_file.h"
#include "rotor/io/metrics_csv.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::expect_error;
using testing::fresh_dir;
using testing::pattern_tensor;
namespace fs = std::filesystem;

Checkpoint make_checkpoint(int64_t step) {
  Checkpoint c;
  c.config = {{"layers", 2}, {"dim", 8}, {"norm", "rmsnorm"}};
  c.model["embed.weight"] = pattern_tensor({4, 8}, DType::f32);
  c.model["norm.weight"] = Tensor::full({8}, static_cast<double>(step), DType::bf16);
  c.optimizer["adam.m.embed.weight"] = Tensor::full({4, 8}, 0.25 * step);
  c.optimizer["adam.step"] = Tensor::full({}, static_cast<double>(step), DType::i64);
  Rng rng(42);
  for (int64_t i = 0; i < step; ++i) rng.normal();
  c.state.rng = rng.state();
  c.state.step = step;
  c.state.data_position = 1000 * step + 7;
  c.state.extra = {{"best_val_loss", 1.0 / (step + 3)}, {"schedule", "cosine"}};
  c.files["notes.txt"] = cat("saved at step ", step, "\n");
  return c;
}

void expect_checkpoint(const Checkpoint& got, int64_t step) {
  const Checkpoint want = make_checkpoint(step);
  EXPECT_EQ(got.state.step, step);
  EXPECT_EQ(got.state.data_position, want.state.data_position);
  EXPECT_EQ(got.state.extra, want.state.extra);
  EXPECT_EQ(got.config, want.config);
  EXPECT_EQ(got.files, want.files);
  Rng a(0), b(0);
  a.set_state(got.state.rng);
  b.set_state(want.state.rng);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.normal(), b.normal());  // same stream, spare value included
  for (const auto* maps : {&got.model, &got.optimizer}) {
    const TensorMap& w = maps == &got.model ? want.model : want.optimizer;
    ASSERT_EQ(maps->size(), w.size());
    for (const auto& [name, t] : w) {
      ASSERT_TRUE(maps->count(name)) << name;
      EXPECT_EQ(maps->at(name).dtype(), t.dtype());
      EXPECT_EQ(maps->at(name).to_double_vector(), t.to_double_vector()) << name;
    }
  }
}

std::vector<std::string> listing(const std::string& parent) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(parent)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Checkpoint, RoundTripAndReplaceKeepsOtherFiles) {
  const std::string parent = fresh_dir("checkpoint_roundtrip");
  const std::string dir = parent + "/run";
  EXPECT_FALSE(checkpoint_exists(dir));
  save_checkpoint(dir, make_checkpoint(3));
  ASSERT_TRUE(checkpoint_exists(dir));
  expect_checkpoint(load_checkpoint(dir), 3);
  EXPECT_NE(read_file(dir + "/training_state.json").find("\"data_position\": 3007"), std::string::npos);

  // Files the trainer keeps in the run directory survive the replacement.
  write_file_atomic(dir + "/metrics.csv", "step,loss\n1,2.5\n");
  fs::create_directories(dir + "/samples");
  write_file_atomic(dir + "/samples/a.txt", "hello");
  save_checkpoint(dir + "/", make_checkpoint(4));
  expect_checkpoint(load_checkpoint(dir), 4);
  EXPECT_EQ(read_file(dir + "/metrics.csv"), "step,loss\n1,2.5\n");
  EXPECT_EQ(read_file(dir + "/samples/a.txt"), "hello");
  EXPECT_EQ(listing(parent), std::vector<std::string>{"run"});  // no staging or old directories left
}

TEST(Checkpoint, OpenMetricsFileKeepsAppendingAcrossSaves) {
  const std::string dir = fresh_dir("checkpoint_metrics") + "/run";
  save_checkpoint(dir, make_checkpoint(1));
  MetricsCsv csv(dir + "/metrics.csv", {"step", "loss"});
  csv.append({1, 2.5});
  save_checkpoint(dir, make_checkpoint(2));
  csv.append({2, 2.25});
  save_checkpoint(dir, make_checkpoint(3));
  csv.append({3, 2});
  EXPECT_EQ(read_file(dir + "/metrics.csv"), "step,loss\n1,2.5\n2,2.25\n3,2\n");
}

TEST(Checkpoint, FailureAtAnyStepLeavesPreviousCheckpoint) {
  const std::vector<std::string> steps = {"config", "model", "optimizer", "files", "carried", "state", "staged", "moved_old"};
  for (bool exchange : {true, false}) {
    for (const std::string& fail_at : steps) {
      SCOPED_TRACE(cat(exchange ? "exchange" : "two renames", ", failing after ", fail_at));
      const std::string parent = fresh_dir("checkpoint_fail");
      const std::string dir = parent + "/ckpt";
      save_checkpoint(dir, make_checkpoint(1));
      write_file_atomic(dir + "/metrics.csv", "step\n1\n");
      CheckpointSaveOptions options;
      options.allow_exchange = exchange;
      options.after_step = [&](std::string_view s) {
        if (s == fail_at) throw Error("injected failure");
      };
      if (exchange && fail_at == "moved_old") continue;  // not a step of the exchange path
      expect_error([&] { save_checkpoint(dir, make_checkpoint(2), options); }, {"injected"});
      // A thrown failure removes the staging directory (and after "moved_old" renames the previous
      // checkpoint back).
      expect_checkpoint(load_checkpoint(dir), 1);
      EXPECT_EQ(listing(parent), std::vector<std::string>{"ckpt"});
      // The next save works.
      save_checkpoint(dir, make_checkpoint(5));
      expect_checkpoint(load_checkpoint(dir), 5);
      EXPECT_EQ(read_file(dir + "/metrics.csv"), "step\n1\n");
      EXPECT_EQ(listing(parent), std::vector<std::string>{"ckpt"});
    }
  }
}

// A crash (the process exits in the middle of the save, running no destructors) at each step.
TEST(Checkpoint, CrashAtAnyStepLeavesALoadableCheckpoint) {
  GTEST_FLAG_SET(death_test_style, "fast");  // fork at the statement (the library runs no threads here)
  const std::vector<std::string> steps = {"config", "model",  "optimizer", "files",
                                          "carried", "state", "staged",    "moved_old", "swapped"};
  for (bool exchange : {true, false}) {
    for (const std::string& crash_at : steps) {
      if (exchange && crash_at == "moved_old") continue;  // not a step of the exchange path
      SCOPED_TRACE(cat(exchange ? "exchange" : "two renames", ", crashing after ", crash_at));
      const std::string parent = fresh_dir("checkpoint_crash");
      const std::string dir = parent + "/ckpt";
      save_checkpoint(dir, make_checkpoint(1));
      CheckpointSaveOptions options;
      options.allow_exchange = exchange;
      options.after_step = [&](std::string_view s) {
        if (s == crash_at) ::_exit(3);
      };
      EXPECT_EXIT(save_checkpoint(dir, make_checkpoint(2), options), ::testing::ExitedWithCode(3), "");
      EXPECT_GT(listing(parent).size(), 1u);  // the crash left a staging or old directory behind
      expect_checkpoint(load_checkpoint(dir), crash_at == "swapped" ? 2 : 1);
      save_checkpoint(dir, make_checkpoint(6));
      expect_checkpoint(load_checkpoint(dir), 6);
      EXPECT_EQ(listing(parent), std::vector<std::string>{"ckpt"});
    }
  }
}

TEST(Checkpoint, RejectsIncompleteOrMixedDirectories) {
  const std::string parent = fresh_dir("checkpoint_bad");
  expect_error([&] { load_checkpoint(parent + "/none"); }, {"none", "does not exist"});
  save_checkpoint(parent + "/a", make_checkpoint(1));
  save_checkpoint(parent + "/b", make_checkpoint(2));
  fs::copy_file(parent + "/a/model.safetensors", parent + "/b/model.safetensors",
                fs::copy_options::overwrite_existing);
  expect_error([&] { load_checkpoint(parent + "/b"); }, {"model.safetensors belongs to step 1", "says step 2"});
  fs::remove(parent + "/a/training_state.json");
  EXPECT_FALSE(checkpoint_exists(parent + "/a"));
  expect_error([&] { load_checkpoint(parent + "/a"); }, {"incomplete (no training_state.json)"});
  Checkpoint bad_state = make_checkpoint(1);
  bad_state.state.extra = nlohmann::json::array();
  expect_error([&] { save_checkpoint(parent + "/c", bad_state); }, {"training state", "extra must be an object"});
  bad_state = make_checkpoint(1);
  bad_state.state.step = -1;
  expect_error([&] { save_checkpoint(parent + "/c", bad_state); }, {"step must be a non-negative integer"});
  EXPECT_FALSE(fs::exists(parent + "/c"));
  write_file_atomic(parent + "/file", "x");
  expect_error([&] { save_checkpoint(parent + "/file", make_checkpoint(1)); }, {"is not a directory"});
  nlohmann::json state = training_state_to_json(make_checkpoint(1).state);
  state["rng"]["s"][2] = "0x12";
  expect_error([&] { training_state_from_json(state, "ts.json"); }, {"ts.json: rng.s[2]"});
  state = training_state_to_json(make_checkpoint(1).state);
  state["stepp"] = 1;
  expect_error([&] { training_state_from_json(state, "ts.json"); }, {"unknown key \"stepp\""});
}

// Every file of a save is recorded (size, CRC-32) in training_state.json: one changed, truncated, removed
// or copied in afterwards makes the load fail, naming the file.
TEST(Checkpoint, FilesChangedAfterTheSaveAreRefused) {
  const std::string parent = fresh_dir("checkpoint_files");
  const auto fresh = [&](const std::string& name) {
    save_checkpoint(parent + "/" + name, make_checkpoint(2));
    return parent + "/" + name;
  };
  std::string dir = fresh("edited");
  write_file_atomic(dir + "/notes.txt", "saved at step 9\n");  // same size, other bytes
  expect_error([&] { load_checkpoint(dir); }, {"notes.txt is not the file saved at step 2", "crc32"});
  dir = fresh("config");
  write_file_atomic(dir + "/config.json", R"({"layers": 3, "dim": 8, "norm": "rmsnorm"})");
  expect_error([&] { load_checkpoint(dir); }, {"config.json is not the file saved at step 2"});
  dir = fresh("truncated");
  fs::resize_file(dir + "/optimizer.safetensors", fs::file_size(dir + "/optimizer.safetensors") - 4);
  expect_error([&] { load_checkpoint(dir); }, {"optimizer.safetensors"});
  dir = fresh("removed");
  fs::remove(dir + "/notes.txt");
  expect_error([&] { load_checkpoint(dir); }, {"notes.txt (saved at step 2) is missing"});
  // the record itself is checked
  dir = fresh("record");
  nlohmann::json state = nlohmann::json::parse(read_file(dir + "/training_state.json"));
  state["files"]["notes.txt"]["crc32"] = "xyz";
  write_file_atomic(dir + "/training_state.json", state.dump());
  expect_error([&] { load_checkpoint(dir); }, {"crc32 must be 8 hex digits"});
  state["files"].erase("model.safetensors");
  write_file_atomic(dir + "/training_state.json", state.dump());
  expect_error([&] { load_checkpoint(dir); }, {"the \"files\" record lacks model.safetensors"});
  // names a save refuses: paths, the checkpoint's own files, temporary names
  for (const std::string name : {"a/b", "config.json", "training_state.json", "x.tmp-12", "..", ""}) {
    Checkpoint c = make_checkpoint(1);
    c.files[name] = "x";
    expect_error([&] { save_checkpoint(parent + "/bad", c); }, {"bad file name"});
    EXPECT_FALSE(fs::exists(parent + "/bad")) << name;
  }
  // an unchanged save still loads, its files included
  expect_checkpoint(load_checkpoint(fresh("fine")), 2);
}

}  // namespace
}  // namespace rotor::io

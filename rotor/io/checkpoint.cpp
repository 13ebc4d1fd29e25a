#include "rotor/io/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include <zlib.h>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kConfigFile = "config.json";
constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kOptimizerFile = "optimizer.safetensors";
constexpr const char* kStateFile = "training_state.json";  // written last: its presence marks completeness
constexpr const char* kStepKey = "rotor_checkpoint_step";
constexpr const char* kFilesKey = "files";  // training_state.json: {name: fingerprint} of every other file

bool is_own_file(const std::string& name) {
  return name == kConfigFile || name == kModelFile || name == kOptimizerFile || name == kStateFile;
}

// A name Checkpoint::files may use: one plain file name, not one of the checkpoint's own, not temporary.
bool is_further_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != ".." && !is_own_file(name) &&
         name.find(".tmp-") == std::string::npos && name.find(".old-") == std::string::npos;
}

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

std::string hex64(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t parse_hex64(const json& j, const std::string& what) {
  ROTOR_CHECK(j.is_string(), what, " must be a hex string");
  const std::string s = j.get<std::string>();
  ROTOR_CHECK(s.size() == 18 && s.rfind("0x", 0) == 0 &&
                  s.find_first_not_of("0123456789abcdef", 2) == std::string::npos,
              what, " must look like 0x0123456789abcdef, got '", s, "'");
  return std::stoull(s.substr(2), nullptr, 16);
}

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ROTOR_CHECK(fd >= 0, "cannot open directory '", dir.string(), "': ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  ROTOR_CHECK(rc == 0, "cannot sync directory '", dir.string(), "': ", std::strerror(err));
}

fs::path parent_of(const fs::path& dir) {
  const fs::path parent = dir.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// Siblings named "<dir name><infix><pid>", e.g. "run.tmp-1234".
std::vector<std::pair<fs::path, int>> siblings_with_pid(const fs::path& dir, const std::string& infix) {
  std::vector<std::pair<fs::path, int>> out;
  const std::string prefix = dir.filename().string() + infix;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent_of(dir), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(entry.path(), std::stoi(digits));
  }
  return out;
}

bool process_alive(int pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

void remove_leftovers(const fs::path& dir, const std::string& infix) {
  for (const auto& [path, pid] : siblings_with_pid(dir, infix))
    if (pid == ::getpid() || !process_alive(pid)) fs::remove_all(path);
}

bool is_complete(const fs::path& dir) { return fs::is_regular_file(dir / kStateFile); }

// Where load_checkpoint reads from: DIR, or the DIR.old-<pid> left by a crash between two renames.
std::optional<fs::path> complete_checkpoint_dir(const fs::path& dir) {
  if (is_complete(dir)) return dir;
  if (fs::exists(dir)) return std::nullopt;
  for (const auto& [path, pid] : siblings_with_pid(dir, ".old-"))
    if (is_complete(path)) return path;
  return std::nullopt;
}

// Hard-links (or copies) the files of the old checkpoint directory that the new one does not write.
void carry_over_other_files(const fs::path& old_dir, const fs::path& staging,
                            const std::map<std::string, std::string>& written) {
  if (!fs::is_directory(old_dir)) return;
  for (const auto& entry : fs::directory_iterator(old_dir)) {
    const std::string name = entry.path().filename().string();
    if (is_own_file(name) || written.count(name) || name.find(".tmp-") != std::string::npos) continue;
    std::error_code ec;
    fs::copy(entry.path(), staging / name,
             fs::copy_options::recursive | fs::copy_options::create_hard_links | fs::copy_options::copy_symlinks,
             ec);
    if (ec) {
      fs::remove_all(staging / name);
      fs::copy(entry.path(), staging / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    }
    ROTOR_CHECK(!ec, "checkpoint: cannot carry '", entry.path().string(), "' over: ", ec.message());
  }
}

// Replaces `dir` by `staging`, atomically where the filesystem allows.
void swap_into_place(const fs::path& staging, const fs::path& dir, const CheckpointSaveOptions& options) {
  auto step = [&](std::string_view name) {
    if (options.after_step) options.after_step(name);
  };
  if (!fs::exists(dir)) {
    ROTOR_CHECK(std::rename(staging.c_str(), dir.c_str()) == 0, "checkpoint: cannot rename '", staging.string(),
                "' to '", dir.string(), "': ", std::strerror(errno));
  } else {
    bool exchanged = false;
    if (options.allow_exchange) {
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) exchanged = true;
      else
        ROTOR_CHECK(errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP, "checkpoint: cannot exchange '",
                    staging.string(), "' with '", dir.string(), "': ", std::strerror(errno));
    }
    if (exchanged) {
      step("swapped");
      fsync_directory(parent_of(dir));
      fs::remove_all(staging);  // now holds the previous checkpoint
      return;
    }
    const fs::path old = cat(dir.string(), ".old-", ::getpid());
    fs::remove_all(old);
    ROTOR_CHECK(std::rename(dir.c_str(), old.c_str()) == 0, "checkpoint: cannot rename '", dir.string(), "': ",
                std::strerror(errno));
    try {
      step("moved_old");
      ROTOR_CHECK(std::rename(staging.c_str(), dir.c_str()) == 0, "checkpoint: cannot rename '", staging.string(),
                  "' to '", dir.string(), "': ", std::strerror(errno));
    } catch (...) {
      std::rename(old.c_str(), dir.c_str());  // put the previous checkpoint back
      throw;
    }
    step("swapped");
    fsync_directory(parent_of(dir));
    fs::remove_all(old);
    return;
  }
  step("swapped");
  fsync_directory(parent_of(dir));
}

// Removes the staging directory if a save fails with an exception.
struct StagingGuard {
  fs::path path;
  bool active = true;
  ~StagingGuard() {
    if (active) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

}  // namespace

void Fingerprint::add(const void* data, size_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc32 = static_cast<uint32_t>(::crc32(crc32, p, chunk));
    p += chunk;
    n -= chunk;
    bytes += chunk;
  }
}

std::string Fingerprint::str() const {
  return cat(bytes, " bytes, crc32 ", hex32(crc32));
}

Fingerprint file_fingerprint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ROTOR_CHECK(f != nullptr, "cannot open '", path, "': ", std::strerror(errno));
  Fingerprint out;
  std::vector<char> buf(1 << 20);
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.add(buf.data(), got);
  const bool failed = std::ferror(f);
  std::fclose(f);
  ROTOR_CHECK(!failed, "cannot read '", path, "'");
  return out;
}

json fingerprint_to_json(const Fingerprint& f) {
  return json{{"bytes", f.bytes}, {"crc32", hex32(f.crc32)}};
}

Fingerprint fingerprint_from_json(const json& j, const std::string& where) {
  ROTOR_CHECK(j.is_object() && j.size() == 2 && j.contains("bytes") && j["bytes"].is_number_integer() &&
                  j["bytes"].get<int64_t>() >= 0 && j.contains("crc32") && j["crc32"].is_string(),
              where, " must be {\"bytes\": size, \"crc32\": \"8 hex digits\"}");
  const std::string hex = j["crc32"].get<std::string>();
  ROTOR_CHECK(hex.size() == 8 && hex.find_first_not_of("0123456789abcdef") == std::string::npos, where,
              ": crc32 must be 8 hex digits, got '", hex, "'");
  return Fingerprint{j["bytes"].get<int64_t>(), static_cast<uint32_t>(std::stoul(hex, nullptr, 16))};
}

void check_checkpoint_target(const std::string& dir, const std::string& what) {
  if (!fs::exists(dir)) return;
  ROTOR_CHECK(fs::is_directory(dir), what, " ", dir, " exists and is not a directory");
  ROTOR_CHECK(fs::is_empty(dir) || is_complete(dir), what, " ", dir, " is a non-empty directory that holds no "
              "rotor checkpoint (no training_state.json); not replacing it");
}

json rng_state_to_json(const Rng::State& rng) {
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &rng.spare, 8);
  return json{{"s", {hex64(rng.s[0]), hex64(rng.s[1]), hex64(rng.s[2]), hex64(rng.s[3])}},
              {"has_spare", rng.has_spare},
              {"spare_bits", hex64(spare_bits)}};
}

Rng::State rng_state_from_json(const json& rng, const std::string& where) {
  ROTOR_CHECK(rng.is_object() && rng.contains("s") && rng["s"].is_array() && rng["s"].size() == 4 &&
                  rng.contains("has_spare") && rng["has_spare"].is_boolean() && rng.contains("spare_bits"),
              where, " must be {\"s\": [4 words], \"has_spare\": bool, \"spare_bits\": word}");
  Rng::State state{};
  for (int i = 0; i < 4; ++i) state.s[i] = parse_hex64(rng["s"][i], cat(where, ".s[", i, "]"));
  state.has_spare = rng["has_spare"].get<bool>();
  const uint64_t spare_bits = parse_hex64(rng["spare_bits"], where + ".spare_bits");
  std::memcpy(&state.spare, &spare_bits, 8);
  return state;
}

json training_state_to_json(const TrainingState& state) {
  return json{{"step", state.step},
              {"data_position", state.data_position},
              {"rng", rng_state_to_json(state.rng)},
              {"extra", state.extra}};
}

TrainingState training_state_from_json(const json& j, const std::string& where) {
  ROTOR_CHECK(j.is_object(), where, ": expected a JSON object");
  for (const char* key : {"step", "data_position", "rng", "extra"})
    ROTOR_CHECK(j.contains(key), where, ": missing \"", key, "\"");
  for (const auto& [key, value] : j.items())
    ROTOR_CHECK(key == "step" || key == "data_position" || key == "rng" || key == "extra", where,
                ": unknown key \"", key, "\"");
  TrainingState state;
  ROTOR_CHECK(j["step"].is_number_integer() && j["step"].get<int64_t>() >= 0, where,
              ": step must be a non-negative integer");
  ROTOR_CHECK(j["data_position"].is_number_integer() && j["data_position"].get<int64_t>() >= 0, where,
              ": data_position must be a non-negative integer");
  state.step = j["step"].get<int64_t>();
  state.data_position = j["data_position"].get<int64_t>();
  state.rng = rng_state_from_json(j["rng"], where + ": rng");
  ROTOR_CHECK(j["extra"].is_object(), where, ": extra must be an object");
  state.extra = j["extra"];
  return state;
}

void save_checkpoint(const std::string& dir_name, const Checkpoint& checkpoint, const CheckpointSaveOptions& options) {
  ROTOR_CHECK(!dir_name.empty(), "checkpoint: empty directory name");
  fs::path dir = fs::path(dir_name);
  if (dir.filename().empty()) dir = dir.parent_path();  // "run/" -> "run"
  ROTOR_CHECK(!fs::exists(dir) || fs::is_directory(dir), "checkpoint: '", dir.string(), "' exists and is not a directory");
  ROTOR_CHECK(checkpoint.config.is_object(), "checkpoint: config must be a JSON object");
  // Refuse to write a state that would not load back (negative step, non-object extra, ...).
  const json state_json = training_state_to_json(checkpoint.state);
  training_state_from_json(state_json, "checkpoint: training state");
  for (const auto& [name, contents] : checkpoint.files)
    ROTOR_CHECK(is_further_file_name(name), "checkpoint: bad file name '", name, "'");
  auto step = [&](std::string_view name) {
    if (options.after_step) options.after_step(name);
  };

  remove_leftovers(dir, ".tmp-");
  if (!fs::exists(dir))  // a save that crashed between its two renames: put the previous checkpoint back
    for (const auto& [path, pid] : siblings_with_pid(dir, ".old-"))
      if ((pid == ::getpid() || !process_alive(pid)) && is_complete(path) && std::rename(path.c_str(), dir.c_str()) == 0) break;
  const fs::path staging = cat(dir.string(), ".tmp-", ::getpid());
  std::error_code ec;
  fs::create_directories(staging, ec);
  ROTOR_CHECK(!ec, "checkpoint: cannot create '", staging.string(), "': ", ec.message());
  StagingGuard guard{staging};

  const Metadata metadata{{"format", "pt"}, {kStepKey, std::to_string(checkpoint.state.step)}};
  write_file_atomic((staging / kConfigFile).string(), checkpoint.config.dump(2) + "\n");
  step("config");
  save_safetensors((staging / kModelFile).string(), checkpoint.model, metadata);
  step("model");
  save_safetensors((staging / kOptimizerFile).string(), checkpoint.optimizer, metadata);
  step("optimizer");
  json fingerprints = json::object();
  for (const auto& [name, contents] : checkpoint.files) {
    write_file_atomic((staging / name).string(), contents);
    Fingerprint f;
    f.add(contents.data(), contents.size());
    fingerprints[name] = fingerprint_to_json(f);
  }
  step("files");
  for (const char* name : {kConfigFile, kModelFile, kOptimizerFile})
    fingerprints[name] = fingerprint_to_json(file_fingerprint((staging / name).string()));
  carry_over_other_files(dir, staging, checkpoint.files);
  step("carried");
  json full_state = state_json;
  full_state[kFilesKey] = fingerprints;
  write_file_atomic((staging / kStateFile).string(), full_state.dump(2) + "\n");
  step("state");
  fsync_directory(staging);
  step("staged");
  swap_into_place(staging, dir, options);
  guard.active = false;
  remove_leftovers(dir, ".old-");
}

bool checkpoint_exists(const std::string& dir) { return complete_checkpoint_dir(fs::path(dir)).has_value(); }

Checkpoint load_checkpoint(const std::string& dir_name) {
  const std::optional<fs::path> found = complete_checkpoint_dir(fs::path(dir_name));
  ROTOR_CHECK(found, "checkpoint '", dir_name, "': ",
              fs::exists(dir_name) ? "incomplete (no training_state.json)" : "does not exist");
  const fs::path dir = *found;
  Checkpoint out;
  const std::string state_path = (dir / kStateFile).string();
  json fingerprints;
  try {
    json state = json::parse(read_file(state_path));
    ROTOR_CHECK(state.is_object() && state.contains(kFilesKey) && state[kFilesKey].is_object(), state_path,
                ": no \"files\" record (saved by an older rotor, or not a checkpoint)");
    fingerprints = state[kFilesKey];
    state.erase(kFilesKey);
    out.state = training_state_from_json(state, state_path);
    out.config = json::parse(read_file((dir / kConfigFile).string()));
  } catch (const json::exception& e) {
    throw Error(cat("checkpoint '", dir.string(), "': invalid JSON: ", e.what()));
  }
  ROTOR_CHECK(out.config.is_object(), "checkpoint '", dir.string(), "': config.json must hold a JSON object");
  for (const auto& [file, target] : {std::pair{kModelFile, &out.model}, std::pair{kOptimizerFile, &out.optimizer}}) {
    const SafetensorsFile f = SafetensorsFile::open((dir / file).string());
    const auto it = f.metadata().find(kStepKey);
    ROTOR_CHECK(it != f.metadata().end() && it->second == std::to_string(out.state.step), "checkpoint '",
                dir.string(), "': ", file, " belongs to step ", it == f.metadata().end() ? "(unknown)" : it->second,
                " but training_state.json says step ", out.state.step);
    *target = f.load_all();
  }
  // Every recorded file as saved: a file edited, truncated or copied in from another save is refused.
  for (const char* name : {kConfigFile, kModelFile, kOptimizerFile})
    ROTOR_CHECK(fingerprints.contains(name), state_path, ": the \"files\" record lacks ", name);
  for (const auto& [name, recorded] : fingerprints.items()) {
    ROTOR_CHECK(is_own_file(name) ? name != kStateFile : is_further_file_name(name), state_path, ": bad file name '",
                name, "' in the \"files\" record");
    const Fingerprint want = fingerprint_from_json(recorded, cat(state_path, ": files.", name));
    const fs::path path = dir / name;
    ROTOR_CHECK(fs::is_regular_file(path), "checkpoint '", dir.string(), "': ", name, " (saved at step ",
                out.state.step, ") is missing");
    const Fingerprint got = file_fingerprint(path.string());
    ROTOR_CHECK(got == want, "checkpoint '", dir.string(), "': ", name, " is not the file saved at step ",
                out.state.step, " (it has ", got.str(), ", the save recorded ", want.str(),
                "): it was changed or replaced after the save");
    if (!is_own_file(name)) out.files[name] = read_file(path.string());
  }
  return out;
}

}  // namespace rotor::io

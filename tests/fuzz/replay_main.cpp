// Corpus replay for the libFuzzer targets, built with the normal compiler (no -fsanitize=fuzzer) so that
// `make test` runs every target over its corpus in seconds: each file as it is, 32 of its prefixes
// (truncations), and 256 copies with one byte changed (fixed seed, so a failure reproduces). A target
// traps (__builtin_trap) or crashes on a bug; an uncaught exception ends the run with an error.
//   NAME_replay FILE_OR_DIR...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void feed(const std::string& bytes) {
  // a copy in its own allocation, so that reads past the end are out of bounds for ASan builds too
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(copy.empty() ? nullptr : copy.data(), copy.size());
}

void replay(const std::string& bytes, uint64_t& seed, long& runs) {
  feed(bytes);
  ++runs;
  for (int i = 0; i < 32 && !bytes.empty(); ++i, ++runs) feed(bytes.substr(0, bytes.size() * i / 32));
  for (int i = 0; i < 256 && !bytes.empty(); ++i, ++runs) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;  // a 64-bit LCG step
    std::string mutated = bytes;
    mutated[(seed >> 33) % mutated.size()] = static_cast<char>(seed >> 13);
    feed(mutated);
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(argv[i])) {
      files.emplace_back(argv[i]);
    } else {
      std::fprintf(stderr, "replay: %s is not a file or directory\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no corpus files\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  uint64_t seed = 1;
  long runs = 0;
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    replay(bytes, seed, runs);
  }
  std::printf("replay: %zu files, %ld inputs, no failure\n", files.size(), runs);
  return 0;
}

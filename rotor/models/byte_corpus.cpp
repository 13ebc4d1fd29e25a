#include "rotor/models/byte_corpus.h"

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::models {

ByteCorpus ByteCorpus::load(const std::string& path, double val_fraction) {
  ROTOR_CHECK(val_fraction > 0 && val_fraction < 1, "corpus: validation fraction must be in (0, 1), got ",
              val_fraction);
  const std::string text = io::read_file(path);
  ROTOR_CHECK(!text.empty(), path, ": the training text is empty");
  ByteCorpus c;
  c.source = path;
  const size_t n_val = static_cast<size_t>(double(text.size()) * val_fraction);
  const size_t n_train = text.size() - n_val;
  c.train.assign(text.begin(), text.begin() + n_train);
  c.val.assign(text.begin() + n_train, text.end());
  return c;
}

void ByteCorpus::check_context(int64_t ctx) const {
  ROTOR_CHECK(int64_t(train.size()) > ctx + 1, "--ctx ", ctx, " is longer than the training data of ", source, " (",
              train.size(), " bytes after holding out validation)");
  ROTOR_CHECK(int64_t(val.size()) > ctx + 1, "--ctx ", ctx, " is longer than the validation split of ", source,
              " (", val.size(), " bytes)");
}

void sample_windows(const std::vector<uint8_t>& split, Rng& rng, int64_t B, int64_t T, int32_t* x, int32_t* y) {
  const uint64_t starts = split.size() - uint64_t(T) - 1;
  for (int64_t b = 0; b < B; ++b) {
    const uint64_t s = rng.uniform_int(starts);
    for (int64_t t = 0; t < T; ++t) {
      x[b * T + t] = split[s + t];
      y[b * T + t] = split[s + t + 1];
    }
  }
}

}  // namespace rotor::models

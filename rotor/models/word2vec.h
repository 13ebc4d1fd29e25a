#pragma once
// word2vec (Mikolov et al. 2013): skip-gram and CBOW, trained with negative sampling and/or
// hierarchical softmax, frequent-word subsampling, a dynamic window and a linearly decaying learning
// rate, with lock-free (Hogwild) updates from several threads.
//
// Orientation (as in fastText): skip-gram predicts each context word from the centre word's input
// vector; CBOW predicts the centre word from the mean of the context input vectors. The output vectors
// are the input ("syn0") rows.
//
// Companions: word2vec_vocab.h (vocabulary, corpus, sampling, Huffman tree), word2vec_vectors.h (vector
// files), word2vec_eval.h (analogies and neighbours), word2vec_kernels.h (the SGD inner loop).
#include <cstdint>
#include <functional>

#include "rotor/models/word2vec_vectors.h"
#include "rotor/models/word2vec_vocab.h"

namespace rotor::w2v {

struct TrainOptions {
  bool cbow = false;
  bool hierarchical_softmax = false;
  int negative = 5;            // negatives per positive; 0 = no negative sampling (needs --hs)
  int dim = 100;
  int window = 5;              // maximum; each position draws its window uniformly from [1, window]
  int epochs = 5;
  double sample = 1e-3;        // subsampling threshold; 0 disables
  double learning_rate = 0;    // 0 = the default: 0.025 skip-gram, 0.05 CBOW
  int threads = 1;
  uint64_t seed = 1;

  double initial_learning_rate() const { return learning_rate > 0 ? learning_rate : (cbow ? 0.05 : 0.025); }
  void validate() const;       // throws rotor::Error naming the bad option
};

struct TrainProgress {
  int64_t words_done = 0;      // in-vocabulary tokens processed so far, over all epochs and threads
  int64_t words_total = 0;     // epochs * in-vocabulary tokens
  double learning_rate = 0;
  double loss = 0;             // mean loss per prediction (positive + negatives, or per Huffman node)
  double words_per_second = 0;
};

struct TrainResult {
  WordVectors vectors;         // the input vectors, in vocabulary order (most frequent first)
  double seconds = 0;          // training only (no reading or writing)
  int64_t words_done = 0;
  double words_per_second = 0;
  double final_loss = 0;       // mean loss per prediction over the last epoch
};

using ProgressCallback = std::function<void(const TrainProgress&)>;

// Trains on `corpus`. `progress` (may be empty) is called from one thread every ~10k words.
// The same seed and threads = 1 give the same vectors; with more threads updates race (Hogwild).
TrainResult train(const Corpus& corpus, const TrainOptions& options, const ProgressCallback& progress = {});

}  // namespace rotor::w2v

#pragma once
// Token embedding lookup and its gradient. Instantiated for float and double.
#include <cstdint>

namespace rotor::kernels {

// out: [N, C] = table[ids[n]]; ids: [N]; table: [vocab, C]. Throws naming the position of an id outside [0, vocab).
template <class T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int64_t N, int64_t C, int64_t vocab);
// dtable: [vocab, C] (+=); dout: [N, C]. Rows are added in order n = 0..N-1 (deterministic).
template <class T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t C);

}  // namespace rotor::kernels

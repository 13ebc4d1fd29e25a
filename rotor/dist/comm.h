#pragma once
// The process group of a run started by `mpirun` (OpenMPI), and the few collectives rotor needs.
// A process that mpirun did not start (no OMPI_COMM_WORLD_SIZE in its environment) is rank 0 of 1:
// MPI is then never initialised, no daemon is needed and every collective is the identity.
// MPI is initialised on first use and finalised at exit. Collectives run on MPI_COMM_WORLD, whose
// error handler is MPI_ERRORS_RETURN: a failed call throws rotor::Error naming the operation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rotor::dist {

int rank();
int size();
inline bool distributed() { return size() > 1; }

// Element-wise sums over all ranks, in place (every rank gets the result).
void allreduce_sum(double* data, size_t count);
void allreduce_sum(float* data, size_t count);
void allreduce_sum(int64_t* data, size_t count);
// Root's bytes [data, data + bytes) to every rank (bytes must agree on every rank).
void broadcast(void* data, size_t bytes, int root = 0);
// Every rank's string, indexed by rank, on every rank (the strings may differ in length).
std::vector<std::string> allgather(const std::string& bytes);
// The same, concatenated in rank order.
std::string allgather_concat(const std::string& bytes);

// Every rank reports whether its setup succeeded (an empty `problem`) and a `fingerprint` that must be
// equal on all ranks (configuration, columns ...). Throws the same rotor::Error on every rank when
// some rank had a problem or a fingerprint differs from rank 0's, naming the rank.
void agree(const std::string& problem, const std::string& fingerprint, const std::string& what);

// Row range [begin, end) of this rank when `rows` rows are split into size() near-equal parts.
std::pair<int64_t, int64_t> share(int64_t rows);

// data: [n] on every rank, each rank's share(n) of it current on that rank; afterwards every rank holds all
// of them (MPI_Allgatherv in place).
void allgather_shares(float* data, int64_t n);
// Every rank's share(n) (mine: its share(n).second - share(n).first values) into all[0, n) on rank 0
// (all is not touched on the other ranks; it may be null there).
void gather_shares(const float* mine, float* all, int64_t n);

}  // namespace rotor::dist

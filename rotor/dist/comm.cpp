#include "rotor/dist/comm.h"

// The C API only (OpenMPI's mpi.h would otherwise pull in its deprecated C++ bindings).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "rotor/core/error.h"

namespace rotor::dist {

namespace {

struct World {
  bool active = false;
  int rank = 0, size = 1;
};

void finalize_at_exit() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

const World& world() {
  static const World w = [] {
    World out;
    const char* env = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (!env || std::atoi(env) < 1) return out;  // not started by mpirun
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("mpi: MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &out.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &out.size);
    out.active = true;
    std::atexit(finalize_at_exit);
    return out;
  }();
  return w;
}

void check(int rc, const char* op) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(cat("mpi: ", op, " failed on rank ", world().rank, ": ", std::string(text, static_cast<size_t>(len))));
}

// MPI counts are int: long buffers go in pieces.
constexpr size_t kMaxCount = size_t{1} << 30;

template <class T>
void allreduce_impl(T* data, size_t count, MPI_Datatype type) {
  if (!world().active || world().size == 1) return;
  for (size_t done = 0; done < count; done += kMaxCount) {
    const int n = static_cast<int>(std::min(kMaxCount, count - done));
    check(MPI_Allreduce(MPI_IN_PLACE, data + done, n, type, MPI_SUM, MPI_COMM_WORLD), "allreduce");
  }
}

}  // namespace

int rank() { return world().rank; }
int size() { return world().size; }

void allreduce_sum(double* data, size_t count) { allreduce_impl(data, count, MPI_DOUBLE); }
void allreduce_sum(float* data, size_t count) { allreduce_impl(data, count, MPI_FLOAT); }
void allreduce_sum(int64_t* data, size_t count) { allreduce_impl(data, count, MPI_INT64_T); }

void broadcast(void* data, size_t bytes, int root) {
  if (!world().active || world().size == 1) return;
  ROTOR_CHECK(root >= 0 && root < world().size, "mpi: broadcast from rank ", root, " of ", world().size);
  char* p = static_cast<char*>(data);
  for (size_t done = 0; done < bytes; done += kMaxCount) {
    const int n = static_cast<int>(std::min(kMaxCount, bytes - done));
    check(MPI_Bcast(p + done, n, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
}

std::vector<std::string> allgather(const std::string& bytes) {
  const int n = size();
  if (n == 1) return {bytes};
  std::vector<int64_t> lengths(static_cast<size_t>(n), 0);
  lengths[static_cast<size_t>(rank())] = static_cast<int64_t>(bytes.size());
  allreduce_sum(lengths.data(), lengths.size());
  std::vector<std::string> out(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    out[r] = r == rank() ? bytes : std::string(static_cast<size_t>(lengths[r]), '\0');
    broadcast(out[r].data(), out[r].size(), r);
  }
  return out;
}

std::string allgather_concat(const std::string& bytes) {
  std::string out;
  for (const std::string& s : allgather(bytes)) out += s;
  return out;
}

void agree(const std::string& problem, const std::string& fingerprint, const std::string& what) {
  if (size() == 1) {
    if (!problem.empty()) throw Error(problem);
    return;
  }
  const std::vector<std::string> problems = allgather(problem);
  const std::vector<std::string> prints = allgather(fingerprint);
  for (int r = 0; r < size(); ++r)
    if (!problems[r].empty()) throw Error(cat("rank ", r, " of ", size(), ": ", problems[r]));
  for (int r = 1; r < size(); ++r)
    ROTOR_CHECK(prints[r] == prints[0], "rank ", r, " of ", size(), ": ", what, " differs from rank 0's (",
                prints[r], " vs ", prints[0], ")");
}

std::pair<int64_t, int64_t> share(int64_t rows) {
  const int64_t n = size(), r = rank();
  return {rows * r / n, rows * (r + 1) / n};
}

namespace {

// Counts and displacements of the ranks' shares of n values (MPI counts are int).
void share_layout(int64_t n, std::vector<int>& counts, std::vector<int>& displs) {
  ROTOR_CHECK(n >= 0 && n <= int64_t(INT32_MAX), "mpi: cannot gather ", n, " values in shares (at most 2^31 - 1)");
  const int N = world().size;
  counts.resize(size_t(N));
  displs.resize(size_t(N));
  for (int r = 0; r < N; ++r) {
    const int64_t begin = n * r / N, end = n * (r + 1) / N;
    displs[size_t(r)] = int(begin);
    counts[size_t(r)] = int(end - begin);
  }
}

}  // namespace

void allgather_shares(float* data, int64_t n) {
  if (!world().active || world().size == 1) return;
  std::vector<int> counts, displs;
  share_layout(n, counts, displs);
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), MPI_FLOAT,
                       MPI_COMM_WORLD), "allgatherv");
}

void gather_shares(const float* mine, float* all, int64_t n) {
  std::vector<int> counts, displs;
  if (!world().active || world().size == 1) {
    if (n > 0 && all != mine) std::copy(mine, mine + n, all);
    return;
  }
  share_layout(n, counts, displs);
  const int r = world().rank;
  check(MPI_Gatherv(mine, counts[size_t(r)], MPI_FLOAT, all, counts.data(), displs.data(), MPI_FLOAT, 0,
                    MPI_COMM_WORLD), "gatherv");
}

}  // namespace rotor::dist

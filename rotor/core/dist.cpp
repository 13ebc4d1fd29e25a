#include "rotor/core/dist.h"

#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "rotor/core/error.h"

namespace rotor::dist {

namespace {

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Error(cat("mpi: ", what, " failed: ", std::string(text, static_cast<size_t>(len))));
}

// MPI counts are int: long buffers go in pieces.
template <class T, class Fn>
void in_pieces(T* data, int64_t n, Fn&& fn) {
  const int64_t piece = INT_MAX / 2;
  for (int64_t i = 0; i < n; i += piece) fn(data + i, static_cast<int>(std::min(piece, n - i)));
}

}  // namespace

bool launched_by_mpirun() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr; }
bool is_root() { return rank() == 0; }

void check_same(int64_t value, const std::string& what) {
  if (size() == 1) return;
  int64_t lo = value, hi = value;
  check(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  check(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  ROTOR_CHECK(lo == hi, what, " differs between the ranks (", lo, " .. ", hi, "); every rank must get the same");
}

AsyncSum::~AsyncSum() {
  try {
    wait();
  } catch (...) {
  }
}

void AsyncSum::start(float* data, int64_t n) {
  bytes_ += n * int64_t(sizeof(float));
  if (size() == 1 || n == 0) return;
  in_pieces(data, n, [this](float* p, int k) {
    auto* r = new MPI_Request;
    check(MPI_Iallreduce(MPI_IN_PLACE, p, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, r), "MPI_Iallreduce");
    requests_.push_back(r);
    int done = 0;  // nudge progress: OpenMPI advances nonblocking collectives inside MPI calls
    MPI_Test(r, &done, MPI_STATUS_IGNORE);
    if (done) {
      delete r;
      requests_.pop_back();
    }
  });
}

void AsyncSum::wait() {
  std::vector<void*> pending;
  pending.swap(requests_);
  int first_error = MPI_SUCCESS;
  for (void* p : pending) {
    auto* r = static_cast<MPI_Request*>(p);
    const int code = MPI_Wait(r, MPI_STATUS_IGNORE);
    if (first_error == MPI_SUCCESS) first_error = code;
    delete r;
  }
  check(first_error, "MPI_Wait");
}

}  // namespace rotor::dist

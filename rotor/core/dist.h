#pragma once
// Processes started together by OpenMPI's `mpirun -np N rotor ...`: the rank of this process, the number of
// processes, and the collective operations data-parallel training needs. MPI is initialised on first use,
// and only when mpirun started the process (OMPI_COMM_WORLD_SIZE in the environment); otherwise this
// process is rank 0 of 1 and every collective is the identity, so the program runs without an MPI daemon.
// A rank that exits with an error makes mpirun stop the whole job (OpenMPI's default for a process that
// ends without MPI_Finalize), so no surviving rank waits forever in a collective.
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/dist/comm.h"

namespace rotor::dist {

// rank(), size(), allreduce_sum(), broadcast() ...: rotor/dist/comm.h (which initialises MPI on first use)
bool is_root();
bool launched_by_mpirun();  // the environment says so (MPI is then initialised by the first call here)

// Every rank must pass the same value; otherwise all ranks throw naming `what` and both values' range.
void check_same(int64_t value, const std::string& what);

// Sums started now and finished by wait(): the caller keeps the buffers alive and untouched until then.
class AsyncSum {
 public:
  AsyncSum() = default;
  ~AsyncSum();
  AsyncSum(const AsyncSum&) = delete;
  AsyncSum& operator=(const AsyncSum&) = delete;
  void start(float* data, int64_t n);
  void wait();           // finishes every started sum
  int64_t bytes() const { return bytes_; }  // started since construction

 private:
  std::vector<void*> requests_;  // MPI_Request, stored opaquely so this header needs no mpi.h
  int64_t bytes_ = 0;
};

}  // namespace rotor::dist

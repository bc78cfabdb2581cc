// Multi-rank tests: every rank runs every test; CTest launches this binary
// under mpiexec -n 2 and -n 3. The exit status is agreed across ranks so a
// failure on any rank fails the run.
#include <gtest/gtest.h>

#include <memory>

#include "mpi_test_env.hpp"

namespace {
rso::DistContext* g_context = nullptr;
}

rso::DistContext& rso::testing::dist() { return *g_context; }

int main(int argc, char** argv) {
  auto context = std::make_unique<rso::DistContext>(argc, argv);
  g_context = context.get();
  rso::DistConfig config;
  config.device = rso::DeviceKind::cpu;
  config.threads = 1;  // ranks share the machine's cores
  context->configure(config);

  ::testing::InitGoogleTest(&argc, argv);
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (context->is_root())
    std::printf("rank results: %s on %d ranks\n", any_failed ? "FAILED" : "passed", context->size());
  return any_failed;
}

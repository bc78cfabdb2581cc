// Unit tests run in one process without MPI; torch uses one thread so that
// ctest may run several test processes side by side.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  at::set_num_threads(1);
#ifdef RSO_TEST_SPM_HELPER
  // The SentencePiece helper of this build, unless the caller names another.
  setenv("RSO_SPM", RSO_TEST_SPM_HELPER, /*overwrite=*/0);
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

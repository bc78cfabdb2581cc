// A job in which rank 1 fails alone while the others wait in a collective.
// run_guarded must report "[rank 1] ..." and abort the communicator so the
// job ends; tests/cli/test_cli.sh checks that it does, within a time limit.
#include "rso/core/error.hpp"
#include "rso/dist/guarded_run.hpp"

int main(int argc, char** argv) {
  rso::DistContext context(argc, argv);
  return rso::run_guarded(context, [&] {
    if (context.rank() == 1) RSO_THROW(DataError, "shard 1 of prompts.jsonl is corrupt");
    context.barrier();  // would wait forever for rank 1
    return 0;
  });
}

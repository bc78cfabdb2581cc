// rso: one SPMD binary; every rank runs main.
#include <iostream>
#include <memory>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/core/log.hpp"
#include "rso/core/stop_request.hpp"
#include "rso/dist/exit_code_file.hpp"
#include "rso/dist/guarded_run.hpp"
#include "rso/io/hdf5.hpp"

int main(int argc, char** argv) {
  rso::h5::skip_library_cleanup_at_exit();  // before any other HDF5 call
  // Before MPI starts: a scheduler's signal may come at any moment.
  if (argc > 1 && rso::command_stops_on_request(argv[1])) rso::install_stop_handlers();
  std::unique_ptr<rso::DistContext> context;
  try {
    context = std::make_unique<rso::DistContext>(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "rso: cannot start MPI: " << error.what() << std::endl;
    return rso::exit_code::comm;
  }
  rso::init_logging(context->rank(), context->size());
  const int code = rso::run_guarded(*context, [&] { return rso::cli::run_cli(*context, argc, argv); });
  rso::write_exit_code_file(context->rank(), code);
  return code;
}

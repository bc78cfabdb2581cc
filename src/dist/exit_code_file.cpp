#include "rso/dist/exit_code_file.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "rso/io/atomic_file.hpp"

namespace rso {

void write_exit_code_file(int rank, int code) {
  const char* path = std::getenv(exit_code_file_variable);
  if (rank != 0 || path == nullptr || *path == '\0') return;
  try {
    AtomicFileWriter file(path);
    file.write(std::to_string(code) + "\n");
    file.commit();
  } catch (const std::exception& error) {
    std::cerr << "rso: cannot write the exit code to " << exit_code_file_variable << "=" << path << ": "
              << error.what() << std::endl;
  }
}

}  // namespace rso

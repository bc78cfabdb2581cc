#include "rso/dist/typed_errors.hpp"

#include <boost/mpi/exception.hpp>
#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <new>
#include <string>

namespace rso {

namespace {

// The origin of an error rso did not raise itself: where it was turned into
// a typed one, plus the library's own exception type.
std::string origin_of(const char* library) { return std::string("(") + library + ")"; }

const char* memory_hint =
    "; lower train.micro_batch (raising train.grad_accumulation keeps the global batch), "
    "sample.batch_size or the sequence lengths, use dtype bfloat16, or give each rank more memory";

bool says_out_of_memory(const std::string& message) {
  // CUDA: "CUDA out of memory. Tried to allocate ..."; CPU: "DefaultCPUAllocator:
  // can't allocate memory: you tried to allocate N bytes" (1.13) or "not enough memory".
  return message.find("out of memory") != std::string::npos ||
         message.find("not enough memory") != std::string::npos ||
         message.find("can't allocate memory") != std::string::npos ||
         message.find("OutOfMemory") != std::string::npos;
}

// c10's message without its backtrace, on one line when it has several.
std::string first_line(std::string text) {
  const auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  return text;
}

}  // namespace

Error typed_error(const std::exception& error) {
  if (const auto* typed = dynamic_cast<const Error*>(&error)) return *typed;
  if (const auto* mpi = dynamic_cast<const boost::mpi::exception*>(&error))
    return Error(ErrorKind::comm, std::string("MPI call ") + mpi->routine() + " failed: " + mpi->what(),
                 origin_of("boost::mpi::exception"));
  if (const auto* torch = dynamic_cast<const c10::Error*>(&error)) {
    const std::string message = first_line(torch->what_without_backtrace());
    if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr || says_out_of_memory(message))
      return Error(ErrorKind::memory, message + memory_hint, origin_of("c10::Error"));
    return Error(ErrorKind::internal, "torch: " + message, origin_of("c10::Error"));
  }
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr)
    return Error(ErrorKind::memory, std::string("host memory exhausted (") + error.what() + ")" + memory_hint,
                 origin_of("std::bad_alloc"));
  if (const auto* fs = dynamic_cast<const std::filesystem::filesystem_error*>(&error))
    return Error(ErrorKind::io, fs->what(), origin_of("std::filesystem"));
  if (dynamic_cast<const nlohmann::json::exception*>(&error) != nullptr)
    return Error(ErrorKind::data, std::string("malformed JSON: ") + error.what(), origin_of("nlohmann::json"));
  return Error(ErrorKind::internal, error.what(), origin_of("std::exception"));
}

}  // namespace rso

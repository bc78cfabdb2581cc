#include "rso/dist/guarded_run.hpp"

#include <cstdio>
#include <iostream>

#include "rso/core/error.hpp"
#include "rso/dist/typed_errors.hpp"

namespace rso {

std::string error_report(const std::exception& error, int rank, int size) {
  std::string text;
  const auto* typed = dynamic_cast<const Error*>(&error);
  const bool everywhere = typed && typed->on_all_ranks();
  if (size > 1 && !everywhere) text += "[rank " + std::to_string(rank) + "] ";
  text += "rso: ";
  if (typed) {
    text += std::string(to_string(typed->kind())) + ": " + typed->message();
    // Where in rso it was raised matters for bugs and system failures, not
    // for a mistyped config key.
    if (typed->kind() == ErrorKind::internal || typed->kind() == ErrorKind::comm)
      text += " [" + typed->origin() + "]";
  } else {
    text += std::string("internal error: ") + error.what();
  }
  return text;
}

int run_guarded(DistContext& context, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& error) {
    // A library's own exception (an MPI failure, exhausted memory, ...)
    // becomes the matching kind and exit code.
    const Error typed = typed_error(error);
    const int status = exit_code_for(typed.kind());
    if (typed.on_all_ranks()) {
      if (context.is_root()) std::cerr << error_report(typed, context.rank(), context.size()) << std::endl;
      return status;
    }
    std::cerr << error_report(typed, context.rank(), context.size()) << std::endl;
    if (context.size() > 1) context.abort(status);
    return status;
  }
}

}  // namespace rso

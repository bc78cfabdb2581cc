// Runs a command body and turns every failure into a report and an exit
// status, so that a failing job always ends and never hangs.
//
// - An error every rank holds (see DistContext::agree, or errors raised
//   identically on all ranks such as command-line errors): rank 0 prints
//   it once; every rank returns the same status.
// - An error on one rank only: that rank prints "[rank r] ..." and aborts
//   the communicator, ending the other ranks wherever they wait.
#pragma once

#include <functional>

#include "rso/dist/dist_context.hpp"

namespace rso {

int run_guarded(DistContext& context, const std::function<int()>& body);

// The one-line text of an error report, as printed by run_guarded.
std::string error_report(const std::exception& error, int rank, int size);

}  // namespace rso

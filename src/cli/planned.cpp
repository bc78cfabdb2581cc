// Commands of the pipeline that this version does not have yet. They take
// their options and validate the config like the real ones, then refuse
// with exit status 69 instead of producing anything.
#include <iostream>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"

namespace rso::cli {

int run_planned(DistContext& context, const std::string& command, const std::string& delivers,
                const ConfigOptions& options) {
  const Config config = resolve_config(context, options);
  if (options.print_config) {
    if (context.is_root()) std::cout << to_yaml(config);
    return exit_code::ok;
  }
  UnavailableError error("'rso " + command + "' is not built in this version yet (" + delivers +
                             " is still to come); nothing was run",
                         __FILE__, __LINE__);
  error.mark_on_all_ranks();  // every rank reaches this line alike
  throw error;
}

}  // namespace rso::cli

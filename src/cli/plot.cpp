// `rso plot`: gold win rate against KL per token for eval reports, or two
// columns of a CSV file.
#include <spdlog/spdlog.h>

#include "rso/io/output_path.hpp"
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/eval/csv_plot.hpp"
#include "rso/eval/report_plot.hpp"

namespace rso::cli {

int run_plot(DistContext& context, const std::vector<std::string>& reports, const std::string& output) {
  context.agree([&] {
    if (!context.is_root()) return;
    std::vector<eval::LabelledReport> labelled;
    for (const auto& argument : reports) {
      labelled.push_back(eval::parse_labelled_report(argument));
      io::refuse_output_over_inputs("--out", output, {{"the report", labelled.back().path.string()}});
    }
    eval::plot_reports(labelled, output);
    spdlog::info("plot: {} reports -> {}", labelled.size(), output);
  });
  return exit_code::ok;
}

int run_plot_csv(DistContext& context, const eval::CsvPlotSpec& spec, const std::string& output) {
  context.agree([&] {
    if (!context.is_root()) return;
    io::refuse_output_over_inputs("--out", output, {{"--csv", spec.csv.string()}});
    eval::plot_csv(spec, output);
    spdlog::info("plot: {} ({} vs {}) -> {}", spec.csv.string(), spec.y_column, spec.x_column, output);
  });
  return exit_code::ok;
}

}  // namespace rso::cli

// A scatter plot of two columns of a CSV file (perf/scaling.sh's efficiency
// table, for one): one series per distinct value of the series columns.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rso::eval {

struct CsvPlotSpec {
  std::filesystem::path csv;
  std::string x_column, y_column;
  std::vector<std::string> series_columns;  // empty: one series
  std::string title;
  std::optional<double> reference_y;  // a dashed horizontal line
};

// Reads the CSV (a header line, then plain comma-separated values; DataError
// naming file:line for a short row, a missing column or a non-number) and
// writes the PNG atomically.
void plot_csv(const CsvPlotSpec& spec, const std::filesystem::path& png);

}  // namespace rso::eval

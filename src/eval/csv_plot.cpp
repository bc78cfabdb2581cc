#include "rso/eval/csv_plot.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/eval/plot.hpp"
#include "rso/io/png.hpp"

namespace rso::eval {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

std::size_t column_index(const std::vector<std::string>& header, const std::string& name, const std::string& file) {
  const auto found = std::find(header.begin(), header.end(), name);
  if (found == header.end()) RSO_THROW(DataError, file + " has no column '" + name + "'");
  return static_cast<std::size_t>(found - header.begin());
}

double parse_number(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') RSO_THROW(DataError, where + ": '" + text + "' is not a number");
  return value;
}

}  // namespace

void plot_csv(const CsvPlotSpec& spec, const std::filesystem::path& png) {
  const std::string file = spec.csv.string();
  std::ifstream in(spec.csv);
  if (!in) RSO_THROW(IoError, "cannot read " + file);
  std::string line;
  if (!std::getline(in, line)) RSO_THROW(DataError, file + " is empty");
  const std::vector<std::string> header = split_csv_line(line);
  const std::size_t x = column_index(header, spec.x_column, file);
  const std::size_t y = column_index(header, spec.y_column, file);
  std::vector<std::size_t> series;
  for (const auto& name : spec.series_columns) series.push_back(column_index(header, name, file));

  ScatterPlot plot;
  plot.title = spec.title.empty() ? spec.y_column + " vs " + spec.x_column : spec.title;
  plot.x_label = spec.x_column;
  plot.y_label = spec.y_column;
  if (spec.reference_y) {
    plot.has_reference_y = true;
    plot.reference_y = *spec.reference_y;
  }
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = file + ":" + std::to_string(number);
    const std::vector<std::string> fields = split_csv_line(line);
    if (fields.size() != header.size())
      RSO_THROW(DataError, where + ": " + std::to_string(fields.size()) + " fields, the header has " +
                               std::to_string(header.size()));
    std::string label;
    for (const std::size_t column : series) label += (label.empty() ? "" : " ") + fields[column];
    plot.points.push_back({parse_number(fields[x], where), parse_number(fields[y], where), 0.0, label});
  }
  if (plot.points.empty()) RSO_THROW(DataError, file + " has no rows");
  io::write_png(png, render_scatter(plot));
}

}  // namespace rso::eval

#include "rso/eval/report_plot.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

#include "rso/core/error.hpp"
#include "rso/core/run_layout.hpp"
#include "rso/eval/plot.hpp"

namespace rso::eval {

namespace fs = std::filesystem;

namespace {

fs::path report_file(const fs::path& path) {
  if (fs::is_directory(path)) {
    if (fs::exists(path / "report.json")) return path / "report.json";
    // A run directory: its eval stage's report.
    if (const fs::path in_run = RunLayout(path).eval_dir() / "report.json"; fs::exists(in_run)) return in_run;
    RSO_THROW(DataError, "no report.json (or eval/report.json) in " + path.string());
  }
  return path;
}

}  // namespace

LabelledReport parse_labelled_report(const std::string& argument) {
  // Labels and paths may both hold '=': the split is at the first '=' after
  // which an existing path follows.
  if (fs::exists(argument)) return {"", argument};
  for (auto equals = argument.find('='); equals != std::string::npos; equals = argument.find('=', equals + 1))
    if (fs::exists(argument.substr(equals + 1))) return {argument.substr(0, equals), argument.substr(equals + 1)};
  const auto equals = argument.find('=');
  if (equals == std::string::npos) return {"", argument};
  return {argument.substr(0, equals), argument.substr(equals + 1)};
}

void plot_reports(const std::vector<LabelledReport>& reports, const fs::path& png) {
  ScatterPlot plot;
  plot.title = "Gold win rate against the SFT policy vs KL per token";
  plot.x_label = "KL(policy || SFT) per token";
  plot.y_label = "gold win rate (95% interval)";
  plot.has_reference_y = true;
  plot.reference_y = 0.5;
  plot.points.push_back({0.0, 0.5, 0.0, "sft (reference)"});
  for (const auto& entry : reports) {
    const fs::path file = report_file(entry.path);
    std::ifstream in(file);
    if (!in) RSO_THROW(IoError, "cannot read eval report " + file.string());
    nlohmann::json report;
    try {
      in >> report;
      const auto& metrics = report.at("metrics");
      std::string label = entry.label;
      if (label.empty() && report.contains("run"))
        label = report["run"].value("source", std::string("?")) + " " + report["run"].value("loss", std::string("?"));
      if (label.empty()) label = file.parent_path().filename().string();
      plot.points.push_back({metrics.at("kl_per_token").at("mean").get<double>(),
                             metrics.at("gold_win_rate").at("mean").get<double>(),
                             metrics.at("gold_win_rate").at("ci95").get<double>(), label});
    } catch (const nlohmann::json::exception& e) {
      RSO_THROW(DataError, "eval report " + file.string() + " is not as rso eval writes it: " + e.what());
    }
  }
  io::write_png(png, render_scatter(plot));
}

}  // namespace rso::eval

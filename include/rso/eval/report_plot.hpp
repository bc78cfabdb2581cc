// The plot of a sweep: gold win rate (with its 95% interval) against KL per
// token, one point per eval report, the SFT reference at (0, 0.5).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rso::eval {

struct LabelledReport {
  std::string label;  // empty: "<sample.source> <train.loss>" from the report
  std::filesystem::path path;  // report.json, or a directory holding it (or eval/report.json)
};

// Reads every report (DataError naming the first unreadable one) and writes
// the PNG atomically.
void plot_reports(const std::vector<LabelledReport>& reports, const std::filesystem::path& png);

// "LABEL=PATH" or "PATH".
LabelledReport parse_labelled_report(const std::string& argument);

}  // namespace rso::eval

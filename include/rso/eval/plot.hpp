// Scatter plots with error bars, drawn into an RGB image (io/png.hpp) with a
// built-in 5x7 pixel font: gold win rate against KL for the runs of a sweep,
// with no plotting library needed on the cluster.
#pragma once

#include <string>
#include <vector>

#include "rso/io/png.hpp"

namespace rso::eval {

struct PlotPoint {
  double x = 0, y = 0;
  double y_error = 0;  // half-width of the vertical bar (e.g. a 95% interval)
  std::string series;  // points of one series share a colour and a legend entry
};

struct ScatterPlot {
  std::string title, x_label, y_label;
  std::vector<PlotPoint> points;
  // A dashed horizontal reference line (e.g. win rate 0.5), if set.
  bool has_reference_y = false;
  double reference_y = 0;
};

io::Image render_scatter(const ScatterPlot& plot, int width = 900, int height = 600);

// "Nice" tick positions covering [low, high] (steps of 1, 2 or 5 x 10^k).
std::vector<double> nice_ticks(double low, double high, int target_count = 6);

}  // namespace rso::eval

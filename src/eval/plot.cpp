#include "rso/eval/plot.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>

namespace rso::eval {

namespace {

// 5x7 glyphs, one byte per row, bit 4 the leftmost column. Lower-case letters
// are drawn as capitals.
const std::map<char, std::array<std::uint8_t, 7>>& glyphs() {
  static const std::map<char, std::array<std::uint8_t, 7>> table = {
      {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
      {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
      {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
      {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
      {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
      {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
      {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
      {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
      {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
      {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
      {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
      {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
      {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
      {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
      {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
      {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
      {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
      {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
      {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
      {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}}, {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
      {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
      {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
      {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
      {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}}, {' ', {0, 0, 0, 0, 0, 0, 0}},
      {'|', {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}}, {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
      {'<', {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}},
  };
  return table;
}

constexpr int kScale = 2;                     // font pixels per glyph pixel
constexpr int kAdvance = 6 * kScale;          // glyph width plus one column of space
constexpr int kTextHeight = 7 * kScale;
const io::Rgb kBlack{0, 0, 0}, kGrey{200, 200, 200}, kDark{90, 90, 90};
// Colour-blind-safe palette (Okabe & Ito).
const std::array<io::Rgb, 8> kPalette = {{{0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
                                          {230, 159, 0}, {86, 180, 233}, {0, 0, 0}, {240, 228, 66}}};

int text_width(const std::string& text) { return static_cast<int>(text.size()) * kAdvance; }

void draw_text(io::Image& image, int x, int y, const std::string& text, io::Rgb color, bool vertical = false) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    const auto found = glyphs().find(c);
    static const std::array<std::uint8_t, 7> box = {0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F};
    const auto& rows = found == glyphs().end() ? box : found->second;
    for (int row = 0; row < 7; ++row)
      for (int column = 0; column < 5; ++column) {
        if (!(rows[static_cast<std::size_t>(row)] & (0x10 >> column))) continue;
        for (int dy = 0; dy < kScale; ++dy)
          for (int dx = 0; dx < kScale; ++dx) {
            const int along = static_cast<int>(i) * kAdvance + column * kScale + dx, across = row * kScale + dy;
            // Vertical text reads bottom to top, starting at (x, y).
            if (vertical) image.set(x + across, y - along, color);
            else image.set(x + along, y + across, color);
          }
      }
  }
}

void fill_rect(io::Image& image, int x0, int y0, int x1, int y1, io::Rgb color) {
  for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) image.set(x, y, color);
}

std::string format_tick(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::abs(value) < step * 1e-9 ? 0.0 : value);
  return text;
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int target_count) {
  if (!(high > low)) high = low + 1;
  const double raw = (high - low) / std::max(1, target_count - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::floor(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push_back(t);
  if (ticks.empty() || ticks.back() < high) ticks.push_back(ticks.empty() ? low : ticks.back() + step);
  return ticks;
}

io::Image render_scatter(const ScatterPlot& plot, int width, int height) {
  io::Image image(width, height);
  // Series in order of first appearance, each with its colour.
  std::vector<std::string> series;
  for (const auto& p : plot.points)
    if (std::find(series.begin(), series.end(), p.series) == series.end()) series.push_back(p.series);
  auto index_of = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(series.begin(), series.end(), name) - series.begin());
  };
  auto colour_of = [&](const std::string& name) { return kPalette[index_of(name) % kPalette.size()]; };
  // Past the palette's length, series differ by marker: square, diamond, cross.
  auto draw_marker = [&](int x, int y, const std::string& name) {
    const io::Rgb c = colour_of(name);
    switch ((index_of(name) / kPalette.size()) % 3) {
      case 0: fill_rect(image, x - 4, y - 4, x + 4, y + 4, c); break;
      case 1:
        for (int d = -5; d <= 5; ++d) fill_rect(image, x - (5 - std::abs(d)), y + d, x + (5 - std::abs(d)), y + d, c);
        break;
      default:
        for (int d = -5; d <= 5; ++d) {
          fill_rect(image, x + d, y + d - 1, x + d, y + d + 1, c);
          fill_rect(image, x + d, y - d - 1, x + d, y - d + 1, c);
        }
    }
  };

  // Data ranges, error bars and the reference line included, then nice ticks.
  double x_low = 0, x_high = 0, y_low = 0.5, y_high = 0.5;
  bool first = true;
  for (const auto& p : plot.points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    if (first) x_low = x_high = p.x, y_low = y_high = p.y, first = false;
    x_low = std::min(x_low, p.x), x_high = std::max(x_high, p.x);
    y_low = std::min(y_low, p.y - p.y_error), y_high = std::max(y_high, p.y + p.y_error);
  }
  if (plot.has_reference_y) y_low = std::min(y_low, plot.reference_y), y_high = std::max(y_high, plot.reference_y);
  const double x_pad = (x_high - x_low) * 0.08 + 1e-6, y_pad = (y_high - y_low) * 0.08 + 1e-6;
  // Quantities that cannot be negative (KL) keep the axis at zero.
  const auto x_ticks = nice_ticks(x_low >= 0 ? std::max(0.0, x_low - x_pad) : x_low - x_pad, x_high + x_pad);
  const auto y_ticks = nice_ticks(y_low - y_pad, y_high + y_pad);
  const double x0 = x_ticks.front(), x1 = x_ticks.back(), y0 = y_ticks.front(), y1 = y_ticks.back();

  // Plot area: room for the axis labels on the left and below, the title
  // above and the legend on the right.
  int legend_width = 0;
  for (const auto& s : series) legend_width = std::max(legend_width, text_width(s) + 30);
  const int left = 90, top = 50, bottom = height - 70, right = width - 30 - legend_width;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left))); };
  auto py = [&](double y) { return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top))); };

  // Grid, ticks and their labels.
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1, y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  for (double t : x_ticks) {
    fill_rect(image, px(t), top, px(t), bottom, kGrey);
    const std::string label = format_tick(t, x_step);
    draw_text(image, px(t) - text_width(label) / 2, bottom + 8, label, kBlack);
  }
  for (double t : y_ticks) {
    fill_rect(image, left, py(t), right, py(t), kGrey);
    const std::string label = format_tick(t, y_step);
    draw_text(image, left - 8 - text_width(label), py(t) - kTextHeight / 2, label, kBlack);
  }
  if (plot.has_reference_y)  // dashed
    for (int x = left; x <= right; x += 12) fill_rect(image, x, py(plot.reference_y), std::min(x + 6, right), py(plot.reference_y), kDark);
  fill_rect(image, left, bottom, right, bottom, kBlack);
  fill_rect(image, left, top, left, bottom, kBlack);

  // Points: a filled square and the vertical error bar with caps.
  for (const auto& p : plot.points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    const io::Rgb c = colour_of(p.series);
    const int x = px(p.x), y = py(p.y);
    if (p.y_error > 0) {
      const int ya = py(p.y + p.y_error), yb = py(p.y - p.y_error);
      fill_rect(image, x, ya, x, yb, c);
      fill_rect(image, x - 4, ya, x + 4, ya, c);
      fill_rect(image, x - 4, yb, x + 4, yb, c);
    }
    draw_marker(x, y, p.series);
  }

  // Title, axis labels, legend.
  draw_text(image, (width - text_width(plot.title)) / 2, 16, plot.title, kBlack);
  draw_text(image, (left + right - text_width(plot.x_label)) / 2, height - 32, plot.x_label, kBlack);
  draw_text(image, 14, (top + bottom + text_width(plot.y_label)) / 2, plot.y_label, kBlack, /*vertical=*/true);
  int legend_y = top;
  for (const auto& s : series) {
    draw_marker(right + 25, legend_y + 7, s);
    draw_text(image, right + 38, legend_y, s, kBlack);
    legend_y += kTextHeight + 10;
  }
  return image;
}

}  // namespace rso::eval

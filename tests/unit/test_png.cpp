// PNG writing checked against published check values and by decoding the
// file again by hand; the plot's ticks and drawing.
#include <gtest/gtest.h>

#include <cstring>

#include "rso/eval/plot.hpp"
#include "rso/io/png.hpp"

namespace rso {
namespace {

std::uint32_t u32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

TEST(Png, ChecksumsMatchTheirPublishedValues) {
  const std::string check = "123456789";
  EXPECT_EQ(io::crc32(reinterpret_cast<const std::uint8_t*>(check.data()), check.size()), 0xCBF43926u);
  const std::string wiki = "Wikipedia";
  EXPECT_EQ(io::adler32(reinterpret_cast<const std::uint8_t*>(wiki.data()), wiki.size()), 0x11E60398u);
  // The IEND chunk's CRC every PNG ends with.
  EXPECT_EQ(io::crc32(reinterpret_cast<const std::uint8_t*>("IEND"), 4), 0xAE426082u);
}

// Walks the chunks, checks each CRC, undoes the stored deflate blocks and
// compares every pixel. 300 x 100 RGB needs more than one 65535-byte block.
TEST(Png, DecodesBackToThePixels) {
  io::Image image(300, 100);
  for (int y = 0; y < 100; ++y)
    for (int x = 0; x < 300; ++x)
      image.set(x, y, {static_cast<std::uint8_t>(x), static_cast<std::uint8_t>(y * 2), static_cast<std::uint8_t>(x ^ y)});
  const std::string png = io::encode_png(image);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n"));
  std::string idat;
  std::size_t at = 8;
  std::vector<std::string> types;
  while (at < png.size()) {
    const std::uint32_t length = u32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string body = png.substr(at + 8, length);
    const std::string typed = png.substr(at + 4, 4 + length);
    EXPECT_EQ(u32(png, at + 8 + length), io::crc32(reinterpret_cast<const std::uint8_t*>(typed.data()), typed.size()))
        << type;
    if (type == "IHDR") {
      EXPECT_EQ(u32(body, 0), 300u);
      EXPECT_EQ(u32(body, 4), 100u);
      EXPECT_EQ(body[8], 8);  // bit depth
      EXPECT_EQ(body[9], 2);  // RGB
    }
    if (type == "IDAT") idat += body;
    types.push_back(type);
    at += 12 + length;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  // zlib: 2 header bytes whose 16-bit value is a multiple of 31, then stored blocks.
  ASSERT_EQ((static_cast<unsigned char>(idat[0]) * 256 + static_cast<unsigned char>(idat[1])) % 31, 0);
  std::string raw;
  std::size_t p = 2;
  int blocks = 0;
  for (bool last = false; !last; ++blocks) {
    last = idat[p] & 1;
    const unsigned length = static_cast<unsigned char>(idat[p + 1]) | (static_cast<unsigned char>(idat[p + 2]) << 8);
    const unsigned complement = static_cast<unsigned char>(idat[p + 3]) | (static_cast<unsigned char>(idat[p + 4]) << 8);
    ASSERT_EQ(length ^ complement, 0xFFFFu);
    raw += idat.substr(p + 5, length);
    p += 5 + length;
  }
  EXPECT_GT(blocks, 1);
  EXPECT_EQ(u32(idat, p), io::adler32(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
  ASSERT_EQ(raw.size(), 100u * (1 + 300 * 3));
  for (int y = 0; y < 100; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * (1 + 900);
    EXPECT_EQ(raw[row], 0) << "filter byte of row " << y;
    EXPECT_EQ(std::memcmp(raw.data() + row + 1, image.rgb().data() + static_cast<std::size_t>(y) * 900, 900), 0) << y;
  }
}

TEST(Plot, TicksAreNiceAndCoverTheRange) {
  const auto ticks = eval::nice_ticks(0.013, 0.087, 6);
  EXPECT_LE(ticks.front(), 0.013);
  EXPECT_GE(ticks.back(), 0.087);
  EXPECT_NEAR(ticks[1] - ticks[0], 0.02, 1e-12);
  EXPECT_NEAR(ticks.front(), 0.0, 1e-12);
}

TEST(Plot, PointsAreDrawnInTheirSeriesColours) {
  eval::ScatterPlot plot;
  plot.title = "t";
  plot.points = {{0.0, 0.5, 0.0, "a"}, {0.1, 0.7, 0.05, "b"}};
  const io::Image image = eval::render_scatter(plot, 400, 300);
  // Some pixel carries each series' colour (first two of the palette).
  bool first = false, second = false;
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 400; ++x) {
      const io::Rgb c = image.at(x, y);
      first = first || (c.r == 0 && c.g == 114 && c.b == 178);
      second = second || (c.r == 213 && c.g == 94 && c.b == 0);
    }
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
}

}  // namespace
}  // namespace rso

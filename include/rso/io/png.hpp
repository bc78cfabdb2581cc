// Writing 8-bit RGB images as PNG files, with no library beyond the standard
// one: the image data go into zlib "stored" blocks (no compression), which
// is what a plot of a few hundred kilobytes can afford, and keep the file a
// plain function of the pixels.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rso::io {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};

class Image {
 public:
  Image(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return width_; }
  int height() const { return height_; }
  // Pixels outside the image are ignored, so that drawing may overrun.
  void set(int x, int y, Rgb color);
  Rgb at(int x, int y) const;
  const std::vector<std::uint8_t>& rgb() const { return rgb_; }

 private:
  int width_, height_;
  std::vector<std::uint8_t> rgb_;  // row-major, 3 bytes per pixel
};

// CRC-32 (ISO 3309, as PNG chunks use it) and Adler-32 (RFC 1950), exposed
// for the tests.
std::uint32_t crc32(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);
std::uint32_t adler32(const std::uint8_t* data, std::size_t size);

// The PNG file's bytes, and writing them atomically.
std::string encode_png(const Image& image);
void write_png(const std::filesystem::path& path, const Image& image);

}  // namespace rso::io

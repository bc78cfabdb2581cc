// Small helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"

namespace rso::testing {

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("rso-test-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `f`, expects an rso error of `kind`, returns its message.
template <class F>
std::string error_message(F&& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.message();
    return e.message();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception thrown";
  return {};
}

// Up to `max_length` code points from ASCII (controls included), Latin-1,
// combining marks, CJK, emoji and Unicode spaces, as UTF-8.
inline std::string random_utf8_text(RandomStream& stream, std::uint64_t max_length) {
  static const std::pair<std::uint32_t, std::uint32_t> ranges[] = {
      {0x09, 0x0D}, {0x20, 0x7E}, {0xA0, 0xFF}, {0x300, 0x36F}, {0x4E00, 0x4E50}, {0x1F600, 0x1F64F}, {0x2000, 0x200B}};
  std::string text;
  const auto length = stream.below(max_length + 1);
  for (std::uint64_t i = 0; i < length; ++i) {
    const auto& range = ranges[stream.below(std::size(ranges))];
    const auto cp = static_cast<std::uint32_t>(range.first + stream.below(range.second - range.first + 1));
    if (cp < 0x80) {
      text += static_cast<char>(cp);
    } else if (cp < 0x800) {
      text += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    } else if (cp < 0x10000) {
      text += {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
               static_cast<char>(0x80 | (cp & 0x3F))};
    } else {
      text += {static_cast<char>(0xF0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
               static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), static_cast<char>(0x80 | (cp & 0x3F))};
    }
  }
  return text;
}

}  // namespace rso::testing

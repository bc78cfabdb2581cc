#include <gtest/gtest.h>

#include "rso/io/atomic_file.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::read_text;
using testing::TempDir;

std::size_t entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

TEST(AtomicFile, ReplacesTheTargetOnlyOnCommit) {
  TempDir dir;
  const auto target = dir / "out.txt";
  write_file_atomic(target, "old");
  {
    AtomicFileWriter writer(target);
    writer.write("new content");
    EXPECT_EQ(read_text(target), "old");  // not yet visible
    writer.commit();
  }
  EXPECT_EQ(read_text(target), "new content");
  EXPECT_EQ(entries(dir.path()), 1u);  // no temporary left behind
}

TEST(AtomicFile, AbandonedWriterLeavesNoTrace) {
  TempDir dir;
  const auto target = dir / "out.txt";
  write_file_atomic(target, "kept");
  {
    AtomicFileWriter writer(target);
    writer.write(std::string(3 << 20, 'x'));  // larger than the buffer: partly on disk
  }
  EXPECT_EQ(read_text(target), "kept");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFile, CreatesMissingDirectoriesAndLargeFiles) {
  TempDir dir;
  const auto target = dir / "a" / "b" / "big.bin";
  std::string content;
  for (int i = 0; i < (5 << 20); ++i) content.push_back(static_cast<char>(i * 31));
  AtomicFileWriter writer(target);
  for (std::size_t offset = 0; offset < content.size(); offset += 100000)
    writer.write(std::string_view(content).substr(offset, 100000));
  writer.commit();
  EXPECT_EQ(read_text(target), content);
}

TEST(AtomicFile, UnwritableDirectoryIsAnIoError) {
  const std::string message =
      testing::error_message([] { write_file_atomic("/proc/rso-cannot-write-here/x", "x"); }, ErrorKind::io);
  EXPECT_FALSE(message.empty());
}

}  // namespace
}  // namespace rso

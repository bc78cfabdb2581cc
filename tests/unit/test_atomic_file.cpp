#include <gtest/gtest.h>
#include <sys/stat.h>

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

// Only a regular file or nothing is replaced: a FIFO, a directory or a
// device node stays as it is, and the error says what it is.
TEST(AtomicFile, NeverReplacesWhatIsNotARegularFile) {
  TempDir dir;
  const auto fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string message = testing::error_message([&] { write_file_atomic(fifo, "x"); }, ErrorKind::io);
  EXPECT_NE(message.find("it is a FIFO, not a regular file"), std::string::npos) << message;
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  std::filesystem::create_directories(dir / "sub");
  message = testing::error_message([&] { write_file_atomic(dir / "sub", "x"); }, ErrorKind::io);
  EXPECT_NE(message.find("it is a directory"), std::string::npos) << message;
  message = testing::error_message([&] { AtomicPath path("/dev/null"); }, ErrorKind::io);
  EXPECT_NE(message.find("it is a character device"), std::string::npos) << message;
  EXPECT_EQ(entries(dir.path()), 2u);  // no temporaries
}

}  // namespace
}  // namespace rso

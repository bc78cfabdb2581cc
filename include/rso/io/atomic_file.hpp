// Files that appear whole or not at all.
//
// Writers produce a temporary file beside the target; commit() flushes it to
// disk, renames it over the target and syncs the directory, so a crash or a
// job killed at its time limit leaves either the old file or the new one,
// never a torn one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace rso {

// A temporary path beside `target` that becomes `target` on commit(). Any
// writer may fill it (the HDF5 library, for one). Without commit() the
// temporary is removed when this object goes away.
class AtomicPath {
 public:
  explicit AtomicPath(std::filesystem::path target);
  ~AtomicPath();
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // fsync the temporary, rename it over the target, fsync the directory.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// A text/binary file written through a buffer and committed atomically.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);
  void commit();

 private:
  void flush_buffer();

  AtomicPath path_;
  int fd_ = -1;
  std::string buffer_;
};

// Whole-file convenience: write `content` to `target` atomically.
void write_file_atomic(const std::filesystem::path& target, std::string_view content);

// fsync a file or directory by path.
void fsync_path(const std::filesystem::path& path);

}  // namespace rso

#include "rso/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "rso/core/error.hpp"

namespace rso {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void throw_errno(const std::string& what, const fs::path& path, const char* file, int line) {
  throw IoError(what + " '" + path.string() + "': " + std::strerror(errno), file, line);
}
#define RSO_THROW_ERRNO(what, path) throw_errno((what), (path), __FILE__, __LINE__)

// Unique per process and per call, so concurrent writers (ranks sharing a
// directory, threads) never share a temporary.
fs::path temporary_beside(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  return target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}
// rename() replaces whatever the target is: a device node (--out /dev/sda),
// a FIFO or a socket would be swapped for a file, a directory fails late.
// Only a regular file or nothing may be replaced.
void require_replaceable(const fs::path& target) {
  std::error_code ec;
  const fs::file_status status = fs::status(target, ec);
  if (ec == std::errc::not_a_directory) {
    // Name the culprit: the nearest existing ancestor that is not a directory.
    fs::path ancestor = target.parent_path();
    while (!ancestor.empty() && !fs::exists(ancestor, ec)) ancestor = ancestor.parent_path();
    throw IoError("cannot write '" + target.string() + "': '" + ancestor.string() + "' is not a directory", __FILE__,
                  __LINE__);
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw IoError("cannot inspect '" + target.string() + "': " + ec.message(), __FILE__, __LINE__);
  if (!fs::exists(status) || fs::is_regular_file(status)) return;
  const char* what = fs::is_directory(status)      ? "a directory"
                     : fs::is_block_file(status)     ? "a block device"
                     : fs::is_character_file(status) ? "a character device"
                     : fs::is_fifo(status)           ? "a FIFO"
                     : fs::is_socket(status)         ? "a socket"
                                                     : "not a regular file";
  throw IoError("will not write over '" + target.string() + "': it is " + what + ", not a regular file", __FILE__,
                __LINE__);
}
}  // namespace

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) RSO_THROW_ERRNO("cannot open for fsync", path);
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  // Some file systems cannot sync directories (EINVAL); the rename is still atomic.
  if (rc != 0 && errno != EINVAL) RSO_THROW_ERRNO("fsync failed for", path);
}

AtomicPath::AtomicPath(fs::path target) : target_(std::move(target)), temp_(temporary_beside(target_)) {
  require_replaceable(target_);
  const fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw IoError("cannot create directory '" + parent.string() + "': " + ec.message(), __FILE__, __LINE__);
}

AtomicPath::~AtomicPath() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temp_, ignored);
  }
}

void AtomicPath::commit() {
  RSO_CHECK(!committed_, "AtomicPath committed twice");
  fsync_path(temp_);
  require_replaceable(target_);  // again: it may have appeared while we wrote
  if (::rename(temp_.c_str(), target_.c_str()) != 0) RSO_THROW_ERRNO("cannot rename temporary onto", target_);
  committed_ = true;
  fsync_path(target_.has_parent_path() ? target_.parent_path() : fs::path("."));
}

AtomicFileWriter::AtomicFileWriter(fs::path target) : path_(std::move(target)) {
  fd_ = ::open(path_.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) RSO_THROW_ERRNO("cannot create", path_.temp_path());
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void AtomicFileWriter::write(std::string_view bytes) {
  RSO_CHECK(fd_ >= 0, "write after commit");
  buffer_.append(bytes);
  if (buffer_.size() >= (1u << 20)) flush_buffer();
}

void AtomicFileWriter::flush_buffer() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      RSO_THROW_ERRNO("cannot write", path_.temp_path());
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

void AtomicFileWriter::commit() {
  flush_buffer();
  if (::fsync(fd_) != 0) RSO_THROW_ERRNO("fsync failed for", path_.temp_path());
  if (::close(fd_) != 0) RSO_THROW_ERRNO("cannot close", path_.temp_path());
  fd_ = -1;
  path_.commit();
}

void write_file_atomic(const fs::path& target, std::string_view content) {
  AtomicFileWriter writer(target);
  writer.write(content);
  writer.commit();
}

}  // namespace rso

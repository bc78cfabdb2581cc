#include "rso/io/run_directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <regex>
#include <utility>

#include "rso/core/error.hpp"

namespace rso::io {

namespace fs = std::filesystem;

namespace {

std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  if (::lseek(fd, 0, SEEK_SET) < 0) return text;
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string holder_description(const std::string& command) {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char since[32];
  std::strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return "pid " + std::to_string(::getpid()) + " on host " + host + " (rso " + command + ", since " + since + ")\n";
}

}  // namespace

RunDirectoryLock::RunDirectoryLock(const fs::path& directory, const std::string& command) {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) RSO_THROW(IoError, "cannot create the run directory '" + directory.string() + "': " + error.message());
  const fs::path path = directory / ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) RSO_THROW(IoError, "cannot open '" + path.string() + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int lock_errno = errno;
    const std::string holder = read_all(fd);
    ::close(fd);
    if (lock_errno == EWOULDBLOCK)
      RSO_THROW(IoError, "the run directory '" + directory.string() + "' is in use by " +
                             (holder.empty() ? std::string("another process") : holder) +
                             ": wait for it to end, or give this command another run directory");
    RSO_THROW(IoError, "cannot lock '" + path.string() + "': " + std::strerror(lock_errno));
  }
  const std::string me = holder_description(command);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int write_errno = errno;
    ::close(fd);
    RSO_THROW(IoError, "cannot write '" + path.string() + "': " + std::strerror(write_errno));
  }
  fd_ = fd;
}

std::size_t RunDirectoryLock::remove_interrupted_temporaries(const fs::path& directory) const {
  if (fd_ < 0) return 0;
  // write_file_atomic and AtomicPath name their temporaries NAME.tmp.PID.N; a
  // run killed while writing leaves one. Holding the lock, no other rso
  // writes here; a temporary whose process is gone on this host is debris.
  static const std::regex temporary(R"(.+\.tmp\.([0-9]+)\.[0-9]+)");
  std::size_t removed = 0;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(directory, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    std::smatch match;
    const std::string name = it->path().filename().string();
    std::error_code entry_error;  // an entry that cannot be examined is skipped, not the rest of the walk
    if (!it->is_regular_file(entry_error) || !std::regex_match(name, match, temporary)) continue;
    const long pid = std::strtol(match[1].str().c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code remove_error;
      if (fs::remove(it->path(), remove_error)) ++removed;
    }
  }
  return removed;
}

RunDirectoryLock::RunDirectoryLock(RunDirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RunDirectoryLock& RunDirectoryLock::operator=(RunDirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

// Closing the descriptor releases the lock. The file stays: removing it
// would race with a process that has just opened it.
RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace rso::io

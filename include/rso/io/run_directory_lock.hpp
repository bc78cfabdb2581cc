// One writer per run directory: an advisory lock on <dir>/.lock (flock), held
// while a command writes into the directory. The kernel drops it when its
// holder exits, however it exits (kill -9 included), so a killed run never
// leaves a directory locked. The file says who holds it (pid, host, command,
// since when), for the message a second command gets.
#pragma once

#include <filesystem>
#include <string>

namespace rso::io {

class RunDirectoryLock {
 public:
  RunDirectoryLock() = default;
  // Creates `directory` if needed and takes its lock; IoError "in use by pid
  // P on host H ..." when another process holds it.
  RunDirectoryLock(const std::filesystem::path& directory, const std::string& command);
  RunDirectoryLock(RunDirectoryLock&& other) noexcept;
  RunDirectoryLock& operator=(RunDirectoryLock&& other) noexcept;
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;
  ~RunDirectoryLock();

  bool held() const { return fd_ >= 0; }

  // Removes, below `directory`, the temporaries of atomic writes (NAME.tmp.PID.N)
  // whose process no longer runs on this host: what a killed run left. Only
  // while the lock is held; returns how many were removed.
  std::size_t remove_interrupted_temporaries(const std::filesystem::path& directory) const;

 private:
  int fd_ = -1;
};

}  // namespace rso::io

// LockFile: one process at a time on a resource that two would corrupt
// (aztpd's data directory, a proxy's audit log), held for the life of the
// process.
#pragma once

#include <string>
#include <string_view>

#include "aztp/base/result.h"

namespace aztp {

// LockFile holds an exclusive flock on a file. The kernel releases it when
// the process ends, however it ends (kill -9 included), so a lock never
// outlives its holder and a restart is never blocked by a stale one. The
// file itself stays in place: removing it would let a third process lock a
// new file while a second still waits on the old one.
class LockFile {
 public:
  // Acquire opens `path` (created with mode 0600 if absent, never through a
  // symbolic link), takes the lock without waiting and writes this
  // process's PID into the file. When another process holds it:
  // kUnavailable, "<what> is in use by PID <n> (it holds the lock <path>)"
  // (the PID is left out when the holder has not written it yet). kIo when
  // the file cannot be opened.
  static Result<LockFile> Acquire(const std::string& path,
                                  std::string_view what);

  LockFile(LockFile&& other) noexcept;
  LockFile& operator=(LockFile&&) = delete;
  // Closing the file releases the lock.
  ~LockFile();

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace aztp

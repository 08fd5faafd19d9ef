#include "aztp/base/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace aztp {

namespace {

// HolderPid reads the PID the holder wrote, "" when there is none yet.
std::string HolderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string pid(buf, static_cast<std::size_t>(n));
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) {
    return "";
  }
  return pid;
}

// WritePid replaces the file's content with this process's PID, for the
// message a contender gives.
Status WritePid(int fd, const std::string& path) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) !=
                                     static_cast<ssize_t>(pid.size())) {
    return Error(Code::kIo,
                 "cannot write " + path + ": " + std::strerror(errno));
  }
  return Ok();
}

}  // namespace

Result<LockFile> LockFile::Acquire(const std::string& path,
                                   std::string_view what) {
  // No O_TRUNC: a contender must not wipe the holder's PID.
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Error(Code::kIo,
                 "cannot open the lock " + path + ": " + std::strerror(errno));
  }
  LockFile lock(fd);
  // Only a regular file of ours with one name: a hard link planted at the
  // path would be truncated below, and another user's file could be held
  // (or its PID forged) by that user.
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
      st.st_uid != ::geteuid()) {
    return Error(Code::kIo, "the lock " + path +
                                " is not a regular file of this user with "
                                "one name; remove it if no process uses it");
  }
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) {
      return Error(Code::kIo,
                   "cannot lock " + path + ": " + std::strerror(errno));
    }
    const std::string pid = HolderPid(fd);
    return Error(Code::kUnavailable,
                 std::string(what) + " is in use by " +
                     (pid.empty() ? "another process" : "PID " + pid) +
                     " (it holds the lock " + path + ")");
  }
  AZTP_RETURN_IF_ERROR(WritePid(fd, path));
  return lock;
}

LockFile::LockFile(LockFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace aztp

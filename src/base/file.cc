#include "aztp/base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace aztp {

namespace {

Error IoError(std::string_view what, const std::string& path) {
  return Error(Code::kIo,
               std::string(what) + " " + path + ": " + std::strerror(errno));
}

// ReadInto reads up to max_bytes from `path` into `out` (a string-like
// container with push_back-free resize semantics).
template <typename Sink>
Status ReadInto(const std::string& path, std::size_t max_bytes, Sink&& sink) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  char buf[8192];
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = IoError("cannot read", path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > max_bytes) {
      ::close(fd);
      return Error(Code::kTooLarge, path + " is larger than " +
                                        std::to_string(max_bytes) + " bytes");
    }
    sink(std::string_view(buf, static_cast<std::size_t>(n)));
  }
  internal::WipeMemory(buf, sizeof(buf));
  ::close(fd);
  return Ok();
}

Status WriteAtomic(const std::string& path, std::string_view data,
                   unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  static_cast<mode_t>(mode));
  if (fd < 0) return IoError("cannot create", tmp);
  // The umask may have narrowed the mode; set it exactly.
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    Error e = IoError("cannot chmod", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = IoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e = IoError("cannot flush", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = IoError("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  std::string out;
  AZTP_RETURN_IF_ERROR(ReadInto(
      path, max_bytes, [&](std::string_view chunk) { out.append(chunk); }));
  return out;
}

Result<SecretBytes> ReadSecretFile(const std::string& path,
                                   std::size_t max_bytes) {
  // Read into a wiping buffer of the final size so no copy lingers.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return IoError("cannot open", path);
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return Error(Code::kTooLarge, path + " is larger than " +
                                      std::to_string(max_bytes) + " bytes");
  }
  std::vector<uint8_t, internal::WipingAllocator<uint8_t>> data;
  data.reserve(max_bytes);
  AZTP_RETURN_IF_ERROR(ReadInto(path, max_bytes, [&](std::string_view chunk) {
    data.insert(data.end(), chunk.begin(), chunk.end());
  }));
  return SecretBytes(std::span<const uint8_t>(data.data(), data.size()));
}

Status WriteFile(const std::string& path, std::string_view data,
                 unsigned mode) {
  return WriteAtomic(path, data, mode);
}

Status WriteSecretFile(const std::string& path, const SecretBytes& data) {
  return WriteAtomic(path, data.View(InsecureSecretAccess::Get()), 0600);
}

}  // namespace aztp

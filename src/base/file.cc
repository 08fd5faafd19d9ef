#include "aztp/base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
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

// SyncFolderOf makes the directory entries of `path`'s folder durable
// (a rename is only durable once its folder is synced).
Status SyncFolderOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open the folder of", path);
  // EINVAL: the file system cannot sync folders; nothing more can be done.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    Error e = IoError("cannot sync the folder of", path);
    ::close(fd);
    return e;
  }
  ::close(fd);
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

Result<SecretBytes> ReadSecretLine(const std::string& path,
                                   std::size_t max_bytes) {
  AZTP_ASSIGN_OR_RETURN(SecretBytes whole, ReadSecretFile(path, max_bytes));
  std::string_view v = whole.View(InsecureSecretAccess::Get());
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) {
    v.remove_suffix(1);
  }
  return SecretBytes(v);
}

Result<AtomicFile> AtomicFile::Create(const std::string& path, unsigned mode) {
  // mkostemp: six random characters, O_CREAT|O_EXCL (a planted file or
  // symbolic link, even at the very name drawn, is refused and another name
  // tried, never opened), mode 0600 until Commit.
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return IoError("cannot create a temporary file for", path);
  return AtomicFile(path, std::move(tmp), fd, mode);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      tmp_(std::move(other.tmp_)),
      fd_(std::exchange(other.fd_, -1)),
      mode_(other.mode_) {}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Error AtomicFile::Fail(Error error) {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
  return error;
}

Error AtomicFile::Spent() const {
  return Error(Code::kIo,
               "cannot write " + path_ +
                   ": already committed or abandoned after an error");
}

Status AtomicFile::Write(std::string_view data) {
  if (fd_ < 0) return Spent();
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(IoError("cannot write", tmp_));
    }
    off += static_cast<std::size_t>(n);
  }
  return Ok();
}

Status AtomicFile::Commit() {
  if (fd_ < 0) return Spent();
  // fchmod is not narrowed by the umask: the mode is exactly `mode_`.
  if (::fchmod(fd_, static_cast<mode_t>(mode_)) != 0) {
    return Fail(IoError("cannot chmod", tmp_));
  }
  if (::fsync(fd_) != 0) return Fail(IoError("cannot flush", tmp_));
  if (::close(std::exchange(fd_, -1)) != 0) {
    return Fail(IoError("cannot flush", tmp_));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return Fail(IoError("cannot rename onto", path_));
  }
  tmp_.clear();
  return SyncFolderOf(path_);
}

Status WriteFile(const std::string& path, std::string_view data,
                 unsigned mode) {
  AZTP_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path, mode));
  AZTP_RETURN_IF_ERROR(file.Write(data));
  return file.Commit();
}

Result<WrittenFile> WrittenFile::Write(const std::string& path,
                                       std::string_view data, unsigned mode) {
  AZTP_RETURN_IF_ERROR(WriteFile(path, data, mode));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return IoError("cannot stat", path);
  return WrittenFile(path, st.st_dev, st.st_ino);
}

void WrittenFile::Remove() {
  struct stat st;
  if (!path_.empty() && ::lstat(path_.c_str(), &st) == 0 &&
      st.st_dev == device_ && st.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
  path_.clear();
}

Status WriteSecretFile(const std::string& path, const SecretBytes& data) {
  return WriteFile(path, data.View(InsecureSecretAccess::Get()), 0600);
}

Status RefuseExisting(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return Error(Code::kAlreadyExists, path + " already exists");
    }
    if (errno != ENOENT && errno != ENOTDIR)
      return IoError("cannot check", path);
  }
  return Ok();
}

}  // namespace aztp

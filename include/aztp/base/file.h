// Files: bounded reads and atomic writes through unpredictable temporary
// files, every new file created 0600.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/base/secret.h"

namespace aztp {

// ReadFile reads a whole file of at most `max_bytes` (kTooLarge beyond,
// kIo when it cannot be read).
Result<std::string> ReadFile(const std::string& path,
                             std::size_t max_bytes = 4 << 20);

// ReadSecretFile reads a private file (e.g. a PKCS#8 key) into SecretBytes.
Result<SecretBytes> ReadSecretFile(const std::string& path,
                                   std::size_t max_bytes = 64 << 10);

// ReadSecretLine is ReadSecretFile without the final line break(s) a text
// editor adds (a key, a client secret kept as one line).
Result<SecretBytes> ReadSecretLine(const std::string& path,
                                   std::size_t max_bytes = 64 << 10);

// AtomicFile writes a new version of `path` that readers see only whole.
// The bytes go to a temporary file created in the same folder under a
// random name with O_CREAT|O_EXCL (so a file or symbolic link planted at a
// guessable name is never opened, let alone written through) and mode 0600;
// Commit sets `mode`, fsyncs the file, renames it onto `path` (a symbolic
// link at `path` is replaced, not followed) and fsyncs the folder. Any
// failure, and destruction before Commit, removes the temporary file. This
// is the one way aztp writes files: WriteFile and WriteSecretFile use it.
// The folder should not be writable by others unless it is sticky (/tmp):
// whoever may rename files in it may swap the temporary file before Commit.
class AtomicFile {
 public:
  // Create opens the temporary file for `path` (kIo on failure).
  static Result<AtomicFile> Create(const std::string& path,
                                   unsigned mode = 0644);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  // Write appends `data` (unbuffered: nothing is copied, secrets included).
  Status Write(std::string_view data);
  // Commit puts the file in place; the object is spent afterwards.
  Status Commit();

 private:
  AtomicFile(std::string path, std::string tmp, int fd, unsigned mode)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), mode_(mode) {}
  // Fail removes the temporary file and returns `error`.
  Error Fail(Error error);
  // Spent is the error of a call after Commit or a failure.
  Error Spent() const;

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  unsigned mode_ = 0644;
};

// WriteFile replaces `path` atomically (AtomicFile) with permission bits
// `mode`.
Status WriteFile(const std::string& path, std::string_view data,
                 unsigned mode = 0644);

// WrittenFile is one version of a file this process wrote and removes when
// it is done with it (aztpd.url, a proxy's ready file): Remove unlinks the
// path only while it is still that version (same device and inode), so a
// file another process wrote at the same path since is never removed.
class WrittenFile {
 public:
  // Write replaces `path` (WriteFile) and remembers the version written.
  static Result<WrittenFile> Write(const std::string& path,
                                   std::string_view data, unsigned mode = 0644);
  // Remove unlinks the path if it still is the version written; it does
  // nothing the second time.
  void Remove();

 private:
  WrittenFile(std::string path, unsigned long device, unsigned long inode)
      : path_(std::move(path)), device_(device), inode_(inode) {}
  std::string path_;
  unsigned long device_ = 0;
  unsigned long inode_ = 0;
};

// WriteSecretFile is WriteFile with mode 0600; the file never exists with
// wider permissions, not even briefly.
Status WriteSecretFile(const std::string& path, const SecretBytes& data);

// RefuseExisting is kAlreadyExists naming the first of `paths` that
// exists (a symbolic link counts, dangling or not: a write would replace
// it), kIo when one cannot be checked, Ok when none exists. Commands that
// write keys call it first, so that nothing is replaced by accident.
Status RefuseExisting(const std::vector<std::string>& paths);

}  // namespace aztp

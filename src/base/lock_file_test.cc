// LockFile: one holder at a time, a clear refusal naming the holder, and no
// lock that outlives its process (kill -9 included).
#include "aztp/base/lock_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "aztp/base/file.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

TEST(LockFileTest, HolderWritesItsPidAndASecondHolderIsRefused) {
  test_support::TempDir dir;
  const std::string path = dir.File("x.lock");
  auto first = LockFile::Acquire(path, "data directory " + dir.path());
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(*ReadFile(path), std::to_string(::getpid()) + "\n");

  // A second open file description conflicts, even in the same process.
  auto second = LockFile::Acquire(path, "data directory " + dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::kUnavailable);
  EXPECT_EQ(second.error().message(), "data directory " + dir.path() +
                                          " is in use by PID " +
                                          std::to_string(::getpid()) +
                                          " (it holds the lock " + path + ")");
  // The refused contender left the holder's PID in place.
  EXPECT_EQ(*ReadFile(path), std::to_string(::getpid()) + "\n");
}

TEST(LockFileTest, ReleasedWhenTheHolderIsDestroyed) {
  test_support::TempDir dir;
  const std::string path = dir.File("x.lock");
  {
    auto first = LockFile::Acquire(path, "it");
    ASSERT_TRUE(first);
  }
  EXPECT_TRUE(LockFile::Acquire(path, "it"));
}

TEST(LockFileTest, WithoutAPidTheMessageSaysAnotherProcess) {
  test_support::TempDir dir;
  const std::string path = dir.File("x.lock");
  auto first = LockFile::Acquire(path, "it");
  ASSERT_TRUE(first);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  auto second = LockFile::Acquire(path, "it");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message(),
            "it is in use by another process (it holds the lock " + path + ")");
}

// A holder killed with SIGKILL runs no destructor; the kernel still
// releases its lock, so a restart is never blocked.
TEST(LockFileTest, AHolderKilledWithSigkillReleasesTheLock) {
  test_support::TempDir dir;
  const std::string path = dir.File("x.lock");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::optional<LockFile> held;
    if (auto lock = LockFile::Acquire(path, "it"); lock) {
      held.emplace(std::move(*lock));
    }
    const char byte = held ? '1' : '0';
    (void)!::write(ready[1], &byte, 1);
    while (true) ::pause();
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  ASSERT_EQ(byte, '1');
  auto contended = LockFile::Acquire(path, "it");
  ASSERT_FALSE(contended);
  EXPECT_NE(contended.error().message().find("PID " + std::to_string(child)),
            std::string::npos)
      << contended.error().message();

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto after = LockFile::Acquire(path, "it");
  EXPECT_TRUE(after) << after.error().message();
}

TEST(LockFileTest, ASymbolicLinkIsNotFollowed) {
  test_support::TempDir dir;
  const std::string target = dir.File("elsewhere");
  ASSERT_TRUE(WriteFile(target, "keep\n"));
  ASSERT_EQ(::symlink(target.c_str(), dir.File("x.lock").c_str()), 0);
  auto lock = LockFile::Acquire(dir.File("x.lock"), "it");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), Code::kIo);
  EXPECT_EQ(*ReadFile(target), "keep\n");
}

// Review: O_NOFOLLOW guards only the last component's symbolic link; a hard
// link planted at the lock's path would have been truncated (the PID is
// written over the file), and a directory or FIFO there is no lock.
TEST(LockFileTest, AHardLinkOrANonRegularFileIsRefusedUntouched) {
  test_support::TempDir dir;
  const std::string target = dir.File("precious");
  ASSERT_TRUE(WriteFile(target, "keep\n"));
  ASSERT_EQ(::link(target.c_str(), dir.File("x.lock").c_str()), 0);
  auto lock = LockFile::Acquire(dir.File("x.lock"), "it");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), Code::kIo);
  EXPECT_EQ(*ReadFile(target), "keep\n");
  ASSERT_EQ(::mkfifo(dir.File("y.lock").c_str(), 0600), 0);
  EXPECT_FALSE(LockFile::Acquire(dir.File("y.lock"), "it"));
}

}  // namespace
}  // namespace aztp

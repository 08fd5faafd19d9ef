// Atomic writes through AtomicFile. Includes the regression tests of the
// security review finding "temporary files for keys are predictable": keys
// were written through `<path>.tmp.<pid>`, opened without O_EXCL, so a
// symbolic link planted at that name in a shared folder redirected the
// write of svid.key or ca.key.
#include "aztp/base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace aztp {
namespace {

namespace fs = std::filesystem;

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    out.insert(entry.path().filename().string());
  }
  return out;
}

// Contents is the file's text, or "<unreadable>".
std::string Contents(const std::string& path) {
  auto text = ReadFile(path);
  return text ? *text : "<unreadable>";
}

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// The names a writer of `path` could be expected to use: the old
// `<path>.tmp.<pid>` (this process's pid, the writer's), `<path>.tmp` (the
// old audit export), and variants with the pids around ours.
std::vector<std::string> PredictableNames(const std::string& path) {
  std::vector<std::string> out = {path + ".tmp", path + ".tmp.0",
                                  path + ".tmp.XXXXXX"};
  for (pid_t pid = ::getpid() - 2; pid <= ::getpid() + 2; ++pid) {
    out.push_back(path + ".tmp." + std::to_string(pid));
  }
  return out;
}

TEST(Finding10PredictableTempFile, PlantedSymlinksAreNeverWrittenThrough) {
  test_support::TempDir dir;
  const std::string victim = dir.File("victim");
  ASSERT_TRUE(WriteFile(victim, "original\n").has_value());
  for (const char* name : {"svid.key", "ca.key", "bundle.json"}) {
    const std::string path = dir.File(name);
    for (const auto& planted : PredictableNames(path)) {
      fs::create_symlink(victim, planted);
    }
    // The final name too: rename replaces the link itself.
    fs::create_symlink(victim, path);
    ASSERT_TRUE(WriteSecretFile(path, SecretBytes(std::string_view("key")))
                    .has_value());
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(path))) << name;
    EXPECT_EQ(Contents(path), "key");
    EXPECT_EQ(ModeOf(path), 0600u);
    ASSERT_TRUE(WriteFile(path, "public\n").has_value());
    EXPECT_EQ(Contents(path), "public\n");
    EXPECT_EQ(ModeOf(path), 0644u);
    for (const auto& planted : PredictableNames(path)) {
      EXPECT_TRUE(fs::is_symlink(fs::symlink_status(planted))) << planted;
    }
  }
  EXPECT_EQ(Contents(victim), "original\n");
}

TEST(Finding10PredictableTempFile, GuessedAttackerFileIsNotUsed) {
  test_support::TempDir dir;
  const std::string path = dir.File("svid.key");
  const std::string guessed = path + ".tmp." + std::to_string(::getpid());
  ASSERT_TRUE(WriteFile(guessed, "attacker\n", 0666).has_value());
  struct stat before;
  ASSERT_EQ(::stat(guessed.c_str(), &before), 0);
  ASSERT_TRUE(WriteSecretFile(path, SecretBytes(std::string_view("secret")))
                  .has_value());
  // The guessed file is untouched and is not what was put in place.
  EXPECT_EQ(Contents(guessed), "attacker\n");
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, before.st_ino);
  EXPECT_EQ(Contents(path), "secret");
}

TEST(Finding10PredictableTempFile, TemporaryIsPrivateUntilCommit) {
  test_support::TempDir dir;
  const std::string path = dir.File("bundle.json");
  auto file = AtomicFile::Create(path, 0644);
  ASSERT_TRUE(file.has_value());
  ASSERT_TRUE(file->Write("{}").has_value());
  std::set<std::string> names = Names(dir.path());
  ASSERT_EQ(names.size(), 1u);
  const std::string tmp = *names.begin();
  // A random suffix in place of the pid: six characters after ".tmp.".
  EXPECT_EQ(tmp.rfind("bundle.json.tmp.", 0), 0u) << tmp;
  EXPECT_EQ(tmp.size(), std::string("bundle.json.tmp.").size() + 6) << tmp;
  EXPECT_NE(tmp, "bundle.json.tmp." + std::to_string(::getpid()));
  EXPECT_EQ(ModeOf(dir.File(tmp)), 0600u);
  EXPECT_FALSE(fs::exists(path));
  ASSERT_TRUE(file->Commit().has_value());
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"bundle.json"});
  EXPECT_EQ(ModeOf(path), 0644u);
  EXPECT_FALSE(file->Write("x").has_value());
  EXPECT_FALSE(file->Commit().has_value());
}

TEST(Finding10PredictableTempFile, NothingIsLeftBehindOnFailure) {
  test_support::TempDir dir;
  // Abandoned before Commit.
  {
    auto file = AtomicFile::Create(dir.File("a"));
    ASSERT_TRUE(file.has_value());
    ASSERT_TRUE(file->Write("partial").has_value());
  }
  EXPECT_TRUE(Names(dir.path()).empty());
  // rename fails: the target is a non-empty folder.
  fs::create_directory(dir.File("busy"));
  ASSERT_TRUE(WriteFile(dir.File("busy/inner"), "x").has_value());
  auto written = WriteFile(dir.File("busy"), "data");
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code(), Code::kIo);
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"busy"});
  // The folder does not exist: nothing to create, nothing to remove.
  EXPECT_EQ(WriteFile(dir.File("missing/a"), "x").error().code(), Code::kIo);
}

TEST(AtomicFile, ModeIsExactWhateverTheUmask) {
  test_support::TempDir dir;
  mode_t old = ::umask(077);
  ASSERT_TRUE(WriteFile(dir.File("f"), "x", 0640).has_value());
  ::umask(old);
  EXPECT_EQ(ModeOf(dir.File("f")), 0640u);
}

TEST(AtomicFile, StreamsSeveralWrites) {
  test_support::TempDir dir;
  auto file = AtomicFile::Create(dir.File("out"));
  ASSERT_TRUE(file.has_value());
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(file->Write(line).has_value());
    expected += line;
  }
  ASSERT_TRUE(file->Commit().has_value());
  EXPECT_EQ(Contents(dir.File("out")), expected);
}

// Issue 13: `aztp ca init` replaced an existing CA without a word. Every
// command that writes keys first asks whether its files exist.
TEST(RefuseExisting, NamesTheFirstFileThatExists) {
  test_support::TempDir dir("aztp_file_");
  const std::string a = dir.File("a"), b = dir.File("b"), c = dir.File("c");
  EXPECT_TRUE(RefuseExisting({}).has_value());
  EXPECT_TRUE(RefuseExisting({a, b, dir.File("no/such/folder/x")}));
  ASSERT_TRUE(WriteFile(b, "x").has_value());
  auto refused = RefuseExisting({a, b});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), Code::kAlreadyExists);
  EXPECT_EQ(refused.error().message(), b + " already exists");
  // A dangling link would be replaced too: it counts.
  ASSERT_EQ(::symlink(dir.File("nowhere").c_str(), c.c_str()), 0);
  EXPECT_EQ(RefuseExisting({a, c}).error().message(), c + " already exists");
}

// aztpd.url of a second instance (or one an operator put there) must
// survive the first instance's exit: Remove unlinks only the version it
// wrote.
TEST(WrittenFile, RemovesOnlyTheVersionItWrote) {
  test_support::TempDir dir;
  auto mine = WrittenFile::Write(dir.File("a.url"), "mine\n");
  ASSERT_TRUE(mine.has_value());
  mine->Remove();
  EXPECT_FALSE(std::filesystem::exists(dir.File("a.url")));

  auto replaced = WrittenFile::Write(dir.File("b.url"), "mine\n");
  ASSERT_TRUE(replaced.has_value());
  ASSERT_TRUE(WriteFile(dir.File("b.url"), "theirs\n").has_value());
  replaced->Remove();
  EXPECT_EQ(Contents(dir.File("b.url")), "theirs\n");
  // Once done, a later version is never touched either.
  replaced->Remove();
  EXPECT_EQ(Contents(dir.File("b.url")), "theirs\n");
}

}  // namespace
}  // namespace aztp

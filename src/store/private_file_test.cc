// The SQLite store's file is never reached through a planted link (the
// sibling of issue 12's finding 10 in the store: aztpd.db holds CA keys).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "aztp/store/store.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

TEST(SqliteStoreFile, Finding10SiblingAPlantedSymlinkIsRefused) {
  test_support::TempDir dir("aztp_store_file_");
  const std::string target = dir.File("attacker-owned.db");
  const std::string path = dir.File("aztpd.db");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  auto store = OpenSqliteStore(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), Code::kPermissionDenied);
  EXPECT_NE(store.error().message().find("not a regular file"),
            std::string::npos)
      << store.error().message();
  EXPECT_FALSE(std::filesystem::exists(target))
      << "the store was created through the link";

  // A link to an existing file is refused as well, and the file untouched.
  { std::ofstream(target) << "not a database"; }
  store = OpenSqliteStore(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(std::filesystem::file_size(target), 14u);
}

TEST(SqliteStoreFile, ANewFileIsPrivateAndAnExistingOneOpensAgain) {
  test_support::TempDir dir("aztp_store_file_");
  const std::string path = dir.File("aztpd.db");
  {
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store) << store.error().message();
  }
  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = OpenSqliteStore(path);
  EXPECT_TRUE(again) << again.error().message();
}

}  // namespace
}  // namespace aztp

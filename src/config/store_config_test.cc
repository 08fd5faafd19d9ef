// `store:` of aztpd's configuration: the backend, PostgreSQL's settings
// and the key-encryption key file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "aztp/base/file.h"
#include "aztp/config/aztpd_config.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

TEST(StoreConfigTest, SqliteIsTheDefault) {
  auto c = ParseAztpdConfig("");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->store.backend, StoreConfig::Backend::kSqlite);
}

TEST(StoreConfigTest, ReadsPostgresSettings) {
  auto c = ParseAztpdConfig(R"(
store:
  backend: postgres
  postgres:
    connection: "host=db.internal dbname=aztp user=aztpd sslmode=verify-full"
    password_file: /etc/aztpd/pg.password
    key_encryption_key_file: /etc/aztpd/kek
    pool_size: 16
    connect_timeout: 3s
    statement_timeout: 1m
    acquire_timeout: 2s
)");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->store.backend, StoreConfig::Backend::kPostgres);
  EXPECT_EQ(c->store.connection,
            "host=db.internal dbname=aztp user=aztpd sslmode=verify-full");
  EXPECT_EQ(c->store.password_file, "/etc/aztpd/pg.password");
  EXPECT_EQ(c->store.key_encryption_key_file, "/etc/aztpd/kek");
  EXPECT_EQ(c->store.pool_size, 16);
  EXPECT_EQ(c->store.connect_timeout_seconds, 3);
  EXPECT_EQ(c->store.statement_timeout_seconds, 60);
  EXPECT_EQ(c->store.acquire_timeout_seconds, 2);
}

TEST(StoreConfigTest, RefusesIncompleteOrWrongSettings) {
  for (const char* yaml : {
           "store: {backend: mysql}",
           "store: {backend: postgres}",
           "store: {backend: postgres, postgres: {connection: \"dbname=a\"}}",
           "store: {backend: postgres, postgres: {key_encryption_key_file: "
           "/k}}",
           "store: {postgres: {pool_size: 0}}",
           "store: {postgres: {pool_size: 257}}",
           "store: {postgres: {statement_timeout: 0s}}",
           "store: {postgres: {connection: \"\"}}",
           "store: {postgres: {unknown: 1}}",
       }) {
    auto c = ParseAztpdConfig(yaml);
    EXPECT_FALSE(c.has_value()) << yaml;
    if (!c.has_value()) {
      EXPECT_NE(c.error().message().find("store"), std::string::npos)
          << c.error().message();
    }
  }
}

StoreConfig PostgresWithKey(const std::string& key_file) {
  StoreConfig s;
  s.backend = StoreConfig::Backend::kPostgres;
  s.connection = "dbname=aztp";
  s.key_encryption_key_file = key_file;
  return s;
}

TEST(StoreConfigTest, ReadsTheKeyEncryptionKeyRawOrHex) {
  test_support::TempDir dir;
  const std::string raw = dir.File("raw");
  const std::string hex = dir.File("hex");
  ASSERT_TRUE(WriteFile(raw, std::string(32, '\x07'), 0600).has_value());
  ASSERT_TRUE(WriteFile(hex, std::string(64, 'a') + "\n", 0600).has_value());
  auto a = ResolvePostgresStore(PostgresWithKey(raw));
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_TRUE(a->key_encryption_key == SecretBytes(std::string(32, '\x07')));
  auto b = ResolvePostgresStore(PostgresWithKey(hex));
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_TRUE(b->key_encryption_key == SecretBytes(std::string(32, '\xaa')));
  // Raw bytes that happen to end in a line break's byte are still raw.
  const std::string ends = std::string(31, '\x01') + "\n";
  ASSERT_TRUE(WriteFile(raw, ends, 0600).has_value());
  auto c = ResolvePostgresStore(PostgresWithKey(raw));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->key_encryption_key == SecretBytes(ends));
}

TEST(StoreConfigTest, RefusesABadOrExposedKeyFile) {
  test_support::TempDir dir;
  const std::string key = dir.File("kek");
  for (const std::string& text :
       {std::string(31, 'k'), std::string(63, 'a'), std::string(64, 'g'),
        std::string(65, 'a'), std::string()}) {
    ASSERT_TRUE(WriteFile(key, text, 0600).has_value());
    auto o = ResolvePostgresStore(PostgresWithKey(key));
    ASSERT_FALSE(o.has_value()) << text.size();
    EXPECT_EQ(o.error().code(), Code::kInvalidArgument) << o.error().message();
    EXPECT_EQ(o.error().message().find("aaaa"), std::string::npos);
  }
  ASSERT_TRUE(WriteFile(key, std::string(32, 'k'), 0600).has_value());
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  auto o = ResolvePostgresStore(PostgresWithKey(key));
  ASSERT_FALSE(o.has_value());
  EXPECT_EQ(o.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(
      ResolvePostgresStore(PostgresWithKey(dir.File("missing"))).error().code(),
      Code::kIo);
}

}  // namespace
}  // namespace aztp

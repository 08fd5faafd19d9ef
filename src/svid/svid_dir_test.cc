// Identity and CA folders on disk: what `aztp agent fetch` and `aztp ca
// init` ask of a folder before they write into it (issue 13).
#include "aztp/svid/svid_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "aztp/base/file.h"
#include "aztp/ca/ca_dir.h"
#include "testing/temp_dir.h"

namespace aztp {
namespace {

constexpr UnixTime kNow = 1750000000;

TrustDomain Td(const char* name) { return *TrustDomain::Parse(name); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(SvidDirTest, SvidDirIdNamesWhoseFolderItIs) {
  test_support::TempDir dir("aztp_svid_dir_");
  auto ca = *CertificateAuthority::Create(Td("example.org"), {}, kNow);
  auto bundle = *CaBundle(ca, 1);
  auto id = *SpiffeId::Parse("spiffe://example.org/agents/planner");
  auto key = *PrivateKey::Generate(KeyType::kEcP256);
  auto chain = *ca.IssueX509Svid(id, key.public_key(), 3600, kNow);
  const std::string out = dir.File("planner");
  EXPECT_FALSE(SvidDirId(out).has_value());
  ASSERT_TRUE(WriteSvidDir(out, chain, &key, bundle).has_value());
  auto read = SvidDirId(out);
  ASSERT_TRUE(read.has_value()) << read.error().message();
  EXPECT_EQ(*read, id);
  EXPECT_EQ(SvidDir::Paths(out),
            (std::vector<std::string>{out + "/svid.pem", out + "/svid.key",
                                      out + "/bundle.json"}));
  // A CA folder holds no SVID.
  ASSERT_TRUE(WriteCaDir(dir.File("ca"), ca, bundle).has_value());
  EXPECT_FALSE(SvidDirId(dir.File("ca")).has_value());
}

TEST(SvidDirTest, ACaFolderRewrittenWithoutIntermediateLosesTheOldRootKey) {
  test_support::TempDir dir("aztp_ca_dir_");
  CaOptions with;
  with.with_intermediate = true;
  auto first = *CertificateAuthority::Create(Td("example.org"), with, kNow);
  const std::string out = dir.File("ca");
  ASSERT_TRUE(WriteCaDir(out, first, *CaBundle(first, 1)).has_value());
  EXPECT_TRUE(Exists(out + "/root.key"));
  EXPECT_FALSE(RefuseExisting(CaDirFiles(out)).has_value());
  auto second = *CertificateAuthority::Create(Td("example.org"), {}, kNow);
  ASSERT_TRUE(WriteCaDir(out, second, *CaBundle(second, 1)).has_value());
  EXPECT_FALSE(Exists(out + "/root.key"));
  auto loaded = LoadCaDir(out);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->root().serial_hex(), second.root().serial_hex());
}

}  // namespace
}  // namespace aztp

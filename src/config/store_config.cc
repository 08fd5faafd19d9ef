#include "config/store_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "aztp/base/file.h"
#include "aztp/base/hex.h"
#include "aztp/crypto/aead.h"

namespace aztp {
namespace internal {
namespace {

constexpr const char* kKeyFileKey = "store.postgres.key_encryption_key_file";

Field BackendInto(StoreConfig::Backend& backend) {
  return [&backend](const YAML::Node& n, const std::string& path) -> Status {
    AZTP_ASSIGN_OR_RETURN(std::string s, ReadString(n, path));
    if (s == "sqlite") {
      backend = StoreConfig::Backend::kSqlite;
    } else if (s == "postgres") {
      backend = StoreConfig::Backend::kPostgres;
    } else {
      return Invalid(path, "must be sqlite or postgres, not " + QuoteInput(s));
    }
    return Ok();
  };
}

// KeyFromFile reads the key-encryption key: 32 raw bytes, or 64 hex digits
// (`openssl rand -hex 32`). The file must be private to its owner.
Result<SecretBytes> KeyFromFile(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    return Error(Code::kIo, std::string(kKeyFileKey) + ": cannot read " +
                                QuoteInput(file) + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return Error(Code::kPermissionDenied,
                 std::string(kKeyFileKey) + ": " + QuoteInput(file) +
                     " may be read by others; make it private (chmod 600)");
  }
  // Raw first: 32 random bytes may well end in a line break's byte.
  AZTP_ASSIGN_OR_RETURN(SecretBytes raw, ReadSecretFile(file, 4096));
  if (raw.size() == kSealKeyBytes) return raw;
  std::string_view hex = raw.View(InsecureSecretAccess::Get());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) {
    hex.remove_suffix(1);
  }
  if (hex.size() == 2 * kSealKeyBytes) {
    std::string key(kSealKeyBytes, '\0');
    bool ok = true;
    for (std::size_t i = 0; i < kSealKeyBytes && ok; ++i) {
      const int hi = HexDigit(hex[2 * i]);
      const int lo = HexDigit(hex[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      key[i] = static_cast<char>(ok ? hi * 16 + lo : 0);
    }
    SecretBytes out(key);
    WipeMemory(key.data(), key.size());
    if (ok) return out;
  }
  return Invalid(kKeyFileKey,
                 "must hold 32 bytes, or 64 hexadecimal digits (openssl rand "
                 "-hex 32)");
}

}  // namespace

Field StoreInto(StoreConfig& s) {
  return Section({
      {"backend", BackendInto(s.backend)},
      {"postgres",
       Section({
           {"connection", NonEmptyStringInto(s.connection)},
           {"password_file", FileInto(s.password_file)},
           {"key_encryption_key_file", FileInto(s.key_encryption_key_file)},
           {"pool_size", IntWithinInto(s.pool_size, 1, 256)},
           {"connect_timeout",
            DurationWithinInto(s.connect_timeout_seconds, 1, 600)},
           {"statement_timeout",
            DurationWithinInto(s.statement_timeout_seconds, 1, 3600)},
           {"acquire_timeout",
            DurationWithinInto(s.acquire_timeout_seconds, 1, 600)},
       })},
  });
}

Status ValidateStore(const StoreConfig& s) {
  if (s.backend != StoreConfig::Backend::kPostgres) return Ok();
  if (s.connection.empty()) {
    return Invalid("store.postgres.connection",
                   "required with the postgres backend");
  }
  if (s.key_encryption_key_file.empty()) {
    return Invalid(kKeyFileKey,
                   "required with the postgres backend: private keys are "
                   "sealed before they reach the database");
  }
  return Ok();
}

}  // namespace internal

Result<PostgresStoreOptions> ResolvePostgresStore(const StoreConfig& s) {
  AZTP_RETURN_IF_ERROR(internal::ValidateStore(s));
  PostgresStoreOptions o;
  o.conninfo = s.connection;
  if (!s.password_file.empty()) {
    AZTP_ASSIGN_OR_RETURN(o.password, ReadSecretLine(s.password_file, 4096));
  }
  AZTP_ASSIGN_OR_RETURN(o.key_encryption_key,
                        internal::KeyFromFile(s.key_encryption_key_file));
  o.pool_size = static_cast<std::size_t>(s.pool_size);
  o.connect_timeout = std::chrono::seconds(s.connect_timeout_seconds);
  o.statement_timeout = std::chrono::seconds(s.statement_timeout_seconds);
  o.acquire_timeout = std::chrono::seconds(s.acquire_timeout_seconds);
  return o;
}

}  // namespace aztp

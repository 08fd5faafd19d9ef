// SvidService: X.509-SVIDs from CSRs and JWT-SVIDs for the registered,
// active identities of the trust domain (docs/aztpd.md, "API" and
// "JWT-SVIDs"). Each issuance is one transaction with its audit record.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/services/context.h"
#include "aztp/services/principal.h"
#include "aztp/services/signing_keys.h"
#include "aztp/x509/certificate.h"

namespace aztp::services {

// Limits of a JWT-SVID's audience.
inline constexpr std::size_t kMaxAudiences = 8;
inline constexpr std::size_t kMaxAudienceBytes = 256;
// kMinSvidTtl is the shortest lifetime an SVID may be asked for.
inline constexpr int64_t kMinSvidTtl = 60;

// SvidKind is the kind of the key that signs an SVID, and so its format;
// ToString gives "x509" or "jwt" (the label of aztpd_svids_issued_total).
using SvidKind = CaKeyRecord::Kind;

struct X509SvidRequest {
  SpiffeId id;
  std::string csr_pem;         // a PKCS#10 request for the SVID's key
  std::optional<int64_t> ttl;  // seconds; unset: the default lifetime
};

struct IssuedX509Svid {
  std::vector<Certificate> chain;  // the leaf first
  // bundle is the one in force at issuance, which verifies `chain`.
  std::shared_ptr<const Bundle> bundle;
  UnixTime expires_at = 0;
};

struct JwtSvidRequest {
  SpiffeId id;
  std::vector<std::string> audience;  // 1..kMaxAudiences
  std::optional<int64_t> ttl;         // seconds; unset: the default lifetime
};

struct IssuedJwtSvid {
  std::string token;  // a compact JWS
  UnixTime expires_at = 0;
};

// IssuedHook hears each SVID issued, once its transaction has committed.
using IssuedHook = std::function<void(SvidKind)>;

// SvidService issues SVIDs to whoever may obtain them for an identity: an
// API key that manages it, or the identity's own SVID (a renewal).
class SvidService {
 public:
  SvidService(const ServiceContext& ctx, const KeyRing& ring,
              SvidLifetimes lifetimes, IssuedHook on_issued = {})
      : ctx_(ctx),
        ring_(ring),
        lifetimes_(lifetimes),
        on_issued_(std::move(on_issued)) {}

  // IssueX509 signs an X.509-SVID for the CSR's key (any name in the CSR is
  // ignored; RSA keys are refused).
  Result<IssuedX509Svid> IssueX509(const Principal& who,
                                   const X509SvidRequest& request);
  // IssueJwt signs a JWT-SVID with the active JWT key (kUnavailable before
  // there is one).
  Result<IssuedJwtSvid> IssueJwt(const Principal& who,
                                 const JwtSvidRequest& request);

 private:
  void Issued(SvidKind kind) const {
    if (on_issued_) on_issued_(kind);
  }

  const ServiceContext& ctx_;
  const KeyRing& ring_;
  SvidLifetimes lifetimes_;
  IssuedHook on_issued_;
};

}  // namespace aztp::services

// Fuzz target for SPIFFE ID and trust domain parsing (SPIFFE-ID §2).
//
// Every input goes through SpiffeId::Parse, SpiffeId::ParseUserInput and
// TrustDomain::Parse. Whatever parses must survive a round trip through its
// canonical string, respect the length limits and agree with the other
// entry points; any disagreement aborts so the fuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "aztp/spiffeid/trust_domain.h"

namespace {

using aztp::Code;
using aztp::SpiffeId;
using aztp::TrustDomain;

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// CheckError aborts on an error that is not one of the documented parse
// failures or whose message could repeat more than a bounded prefix.
void CheckError(const aztp::Error& e) {
  Check(e.code() == Code::kMalformed || e.code() == Code::kTooLarge);
  // 64 quoted bytes escape to at most 256 characters; the rest is the reason.
  Check(e.message().size() <= 256 + 200);
}

bool IsSpiffeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
         c == '/' || c == ':';
}

// CheckId checks the invariants of a successfully parsed ID.
void CheckId(const SpiffeId& id) {
  const std::string& s = id.str();
  Check(s.size() <= SpiffeId::kMaxBytes);
  Check(std::string_view(s).starts_with("spiffe://"));
  for (char c : s) {
    Check(IsSpiffeChar(c));
  }
  Check(s == id.trust_domain().IdString() + std::string(id.path()));
  Check(id.IsWorkload() == !id.path().empty());
  Check(id.MemberOf(id.trust_domain()));

  auto again = SpiffeId::Parse(s);
  Check(again.has_value() && *again == id && again->str() == s &&
        again->trust_domain() == id.trust_domain() &&
        again->path() == id.path());
  auto user = SpiffeId::ParseUserInput(s);
  Check(user.has_value() && *user == id);
  auto built = SpiffeId::FromSegments(id.trust_domain(), id.path());
  Check(built.has_value() && *built == id);

  auto td = TrustDomain::Parse(id.trust_domain().name());
  Check(td.has_value() && *td == id.trust_domain());
  auto td_from_id = TrustDomain::Parse(id.trust_domain().IdString());
  Check(td_from_id.has_value() && *td_from_id == id.trust_domain());
  Check(std::hash<SpiffeId>{}(*again) == std::hash<SpiffeId>{}(id));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto id = SpiffeId::Parse(input);
  if (id.has_value()) {
    CheckId(*id);
    // Parse never rewrites its input.
    Check(id->str() == input);
  } else {
    CheckError(id.error());
  }

  auto user = SpiffeId::ParseUserInput(input);
  if (user.has_value()) {
    CheckId(*user);
  } else {
    CheckError(user.error());
  }
  // On spiffe:// input both entry points must agree.
  if (input.starts_with("spiffe://")) {
    Check(id.has_value() == user.has_value());
    if (id.has_value()) {
      Check(*id == *user);
    }
  }
  // The alias differs from the spiffe:// form only in its scheme.
  if (input.starts_with("aztp://")) {
    auto spiffe = SpiffeId::Parse("spiffe://" + std::string(input.substr(7)));
    Check(spiffe.has_value() == user.has_value());
    if (user.has_value()) {
      Check(*spiffe == *user);
    }
  }

  auto td = TrustDomain::Parse(input);
  if (td.has_value()) {
    Check(!td->name().empty());
    Check(td->name().size() <= TrustDomain::kMaxNameBytes);
    auto again = TrustDomain::Parse(td->name());
    Check(again.has_value() && *again == *td);
    Check(std::hash<TrustDomain>{}(*again) == std::hash<TrustDomain>{}(*td));
    auto as_id = SpiffeId::Parse(td->IdString());
    Check(as_id.has_value() && as_id->trust_domain() == *td &&
          !as_id->IsWorkload());
  } else {
    CheckError(td.error());
  }
  return 0;
}

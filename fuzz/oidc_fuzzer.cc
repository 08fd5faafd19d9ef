// Fuzz target for what aztp reads from OpenID providers and their
// browsers (oidc/, http/form.h). The first byte picks how the rest is used
// (its value modulo 5):
//   * 0: as a whole compact ID token, checked against a provider with one
//     fixed-kid P-256 key (the parser, the header rules, key selection);
//   * 1: as an ID token's claim set, signed with that key under {alg
//     ES256, kid}, so that every claim check runs on fuzzed claims;
//   * 2: as a provider's configuration document (provider_metadata.h);
//   * 3: as a token endpoint's answer, with status 200 and 400;
//   * 4: as a query string or form body (a callback's query).
// Besides memory errors it aborts when a token validates whose person
// breaks a bound the validator promises, or when a document is accepted
// for another issuer or with an endpoint that is not https, or when a
// parsed form does not survive FormEncode -> ParseForm.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/bytes.h"
#include "aztp/http/form.h"
#include "aztp/jose/jws.h"
#include "aztp/oidc/id_token.h"
#include "aztp/oidc/login.h"
#include "aztp/oidc/provider_metadata.h"

namespace {

constexpr aztp::UnixTime kNow = 1'800'000'000;

struct Provider {
  aztp::PrivateKey key =
      aztp::PrivateKey::Generate(aztp::KeyType::kEcP256).value();
  aztp::Jwks keys;
  aztp::IdTokenRules rules;
  Provider() {
    aztp::Json jwk = aztp::Jwk::FromPublicKey(key.public_key()).ToJson();
    jwk["kid"] = "k1";
    if (!keys.Add(aztp::Jwk::Parse(jwk).value())) std::abort();
    rules.issuer = "https://login.example.com";
    rules.client_id = "aztpd";
    rules.accepted_acr = {"mfa"};
    rules.max_auth_age_seconds = 3600;
  }
};

const Provider& TheProvider() {
  static const Provider* p = new Provider();
  return *p;
}

void Check(bool property) {
  if (!property) std::abort();
}

void CheckPerson(const aztp::VerifiedIdToken& v, const Provider& p) {
  const aztp::IdTokenPerson& person = v.person();
  Check(person.issuer == p.rules.issuer);
  Check(!person.subject.empty() &&
        person.subject.size() <= aztp::kMaxOidcSubjectBytes);
  for (unsigned char c : person.subject) Check(c < 0x80);
  Check(person.groups.size() <= aztp::kMaxOidcGroups);
  Check(person.amr.size() <= aztp::kMaxOidcGroups);
  Check(person.acr == std::string("mfa"));
  Check(person.auth_time.has_value());
  Check(v.expires_at() > kNow - p.rules.skew_seconds);
  Check(v.issued_at() <= kNow + p.rules.skew_seconds);
}

void FuzzMetadata(std::string_view document) {
  aztp::ProviderMetadataRules rules;
  rules.issuer = "https://login.example.com";
  auto m = aztp::ParseProviderMetadata(document, rules);
  if (!m) return;
  Check(m->issuer == rules.issuer);
  for (const std::string* url :
       {&m->authorization_endpoint, &m->token_endpoint, &m->jwks_uri}) {
    Check(url->rfind("https://", 0) == 0);
  }
  Check(!m->id_token_algorithms.empty());
}

void FuzzTokenResponse(std::string_view body) {
  auto ok = aztp::ParseTokenResponse(200, body);
  if (ok) Check(ok->token_type.size() == 6);  // "bearer", any case
  auto refused = aztp::ParseTokenResponse(400, body);
  Check(!refused && refused.error().code() == aztp::Code::kUnauthenticated);
}

void FuzzForm(std::string_view text) {
  std::map<std::string, std::string> parsed;
  std::map<std::string, std::string> once;
  const bool strict = aztp::http::ParseFormOnce(text, once);
  if (!aztp::http::ParseForm(text, parsed)) {
    Check(!strict);  // the strict parser accepts less
    return;
  }
  // Without a repeated name both read the same pairs.
  if (strict) Check(once == parsed);
  std::vector<std::pair<std::string, std::string>> pairs(parsed.begin(),
                                                         parsed.end());
  std::map<std::string, std::string> again;
  Check(aztp::http::ParseForm(aztp::http::FormEncode(pairs), again));
  Check(again == parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Provider& p = TheProvider();
  std::string_view rest = aztp::AsChars({data + 1, size - 1});
  switch (data[0] % 5) {
    case 2:
      FuzzMetadata(rest);
      return 0;
    case 3:
      FuzzTokenResponse(rest);
      return 0;
    case 4:
      FuzzForm(rest);
      return 0;
  }
  std::string token(rest);
  if (data[0] % 5 == 1) {
    auto signed_token =
        aztp::SignCompact(aztp::Json{{"alg", "ES256"}, {"kid", "k1"}},
                          aztp::AsBytes(rest), p.key);
    if (!signed_token) return 0;
    token = std::move(*signed_token);
  }
  auto v = aztp::ValidateIdToken(token, p.rules, p.keys, "n-1", kNow);
  if (v) CheckPerson(*v, p);
  auto exchanged = aztp::ValidateIdToken(token, p.rules, p.keys, "", kNow);
  if (v) Check(exchanged.has_value());
  return 0;
}

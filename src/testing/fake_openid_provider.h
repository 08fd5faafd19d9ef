// FakeOpenIdProvider: a provider for the services' tests, without a
// network: it validates ID tokens with a fixed key set (its own signing
// key's), serves a fixed authorization endpoint, and redeems the codes a
// test gave it, each once.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "aztp/crypto/key.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"
#include "aztp/services/people.h"

namespace aztp::test_support {

class FakeOpenIdProvider final : public services::OpenIdProvider {
 public:
  explicit FakeOpenIdProvider(const Clock* clock)
      : key_(*PrivateKey::Generate(KeyType::kEcP256)), clock_(clock) {
    Json jwk = Jwk::FromPublicKey(key_.public_key()).ToJson();
    jwk["kid"] = "k1";
    if (!keys_.Add(*Jwk::Parse(jwk))) std::abort();
  }

  // Sign makes an ID token of this provider (ES256, kid k1), each with a
  // `jti` of its own unless `claims` sets one: two tokens of the same
  // claims are the same token (an exchange uses up both).
  std::string Sign(Json claims) const {
    if (!claims.contains("jti"))
      claims["jti"] = "t" + std::to_string(++signed_);
    return *SignCompact(Json{{"alg", "ES256"}, {"kid", "k1"}},
                        AsBytes(DumpJson(claims)), key_);
  }
  // IssueCode makes RedeemCode answer `id_token` for `code`, once, when the
  // verifier's challenge is `challenge` (PKCE, RFC 7636 §4.6).
  void IssueCode(const std::string& code, const std::string& id_token,
                 const std::string& challenge) {
    std::lock_guard<std::mutex> lock(mu_);
    codes_[code] = {id_token, challenge};
  }
  // Answer plays this provider at the end of a login aztpd started, whose
  // authorization request had the decoded query `authorization`: `claims`
  // become the ID token of `code` (aud "aztpd" and the login's nonce unless
  // `claims` sets them), and the result is the query aztpd's callback
  // gets: state=...&code=....
  std::string Answer(const std::map<std::string, std::string>& authorization,
                     Json claims, const std::string& code);
  int redeemed() const { return redeemed_; }
  // Provider is `name`, whose tokens this fake issues as `issuer`, for
  // aztpd's client `client_id`.
  static services::PersonProvider Provider(
      std::shared_ptr<FakeOpenIdProvider> idp, std::string name,
      std::string issuer, std::string client_id = "aztpd") {
    services::PersonProvider p;
    p.name = std::move(name);
    p.rules.issuer = std::move(issuer);
    p.rules.client_id = std::move(client_id);
    p.idp = std::move(idp);
    return p;
  }

  Result<VerifiedIdToken> Validate(std::string_view token,
                                   const IdTokenRules& rules,
                                   std::string_view nonce) override {
    return ValidateIdToken(token, rules, keys_, nonce, clock_->Now());
  }
  Result<std::string> AuthorizationEndpoint() override {
    return std::string("https://idp.example/authorize");
  }
  Result<SecretBytes> RedeemCode(std::string_view code, std::string_view,
                                 const SecretBytes& verifier) override;

 private:
  PrivateKey key_;
  Jwks keys_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> codes_;
  std::atomic<int> redeemed_{0};
  mutable std::atomic<int> signed_{0};
};

}  // namespace aztp::test_support

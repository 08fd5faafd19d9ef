// OidcProviderClient against a provider served in process over HTTPS (a
// test web CA; a plain http one on loopback for the test-only mode): its
// discovery document, its JWKS and a token endpoint that checks the
// client's authentication as a provider would.
#include "aztp/oidc/provider_client.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aztp/encoding/base64.h"
#include "aztp/encoding/json.h"
#include "aztp/http/form.h"
#include "aztp/http/http.h"
#include "aztp/jose/jws.h"
#include "testing/plain_http_server.h"
#include "testing/web_pki.h"

namespace aztp {
namespace {

using test_support::Must;
using test_support::PlainHttpServer;
using test_support::WebPki;

constexpr char kClient[] = "aztpd-test";
constexpr char kSecret[] = "s3cret-Qm9vdHN0cmFw";
constexpr char kCode[] = "c0de-SplxlOBeZQQYbYS6WxSbIA";
constexpr char kVerifier[] = "v3rifier-dBjftJeZ4CVPmB92K27uhbUJU1p1r";
constexpr char kRedirect[] = "https://aztpd.example/v1/oidc/callback";
constexpr char kNonce[] = "n-0S6_WzA2Mj";
constexpr char kClientKid[] = "aztpd-key-1";
constexpr char kDiscovery[] = "/.well-known/openid-configuration";

// ProviderState is what the test provider serves and expects; the test
// changes it between requests.
struct ProviderState {
  std::string issuer;           // what the provider is, as the client sees it
  std::string document_issuer;  // `issuer` in the document ("": issuer)
  std::string jwks_uri;         // "": issuer + "/jwks"
  std::vector<std::string> algs = {"ES256", "EdDSA"};
  std::vector<std::string> auth_methods = {"client_secret_basic",
                                           "private_key_jwt"};
  std::vector<std::pair<const PrivateKey*, std::string>> published;
  int discovery_status = 200;
  std::size_t discovery_padding = 0;
  std::size_t padding = 0;  // added to the JWKS and the token answer
  int token_status = 0;     // when set, the token endpoint answers only that
  const PrivateKey* client_key = nullptr;  // for private_key_jwt
  std::set<std::string> jtis;              // assertions seen
  std::map<std::string, int> hits;         // by path
};

class OidcProviderClientTest : public testing::Test {
 protected:
  void SetUp() override {
    State()->published = {{&key1_, "k1"}};
    server_ = StartHttps();
    State()->issuer = "https://127.0.0.1:" + std::to_string(server_->port());
  }

  // Locked is the state with the provider's lock held.
  struct Locked {
    std::unique_lock<std::mutex> lock;
    ProviderState* state;
    ProviderState* operator->() { return state; }
  };
  Locked State() { return Locked{std::unique_lock<std::mutex>(mu_), &state_}; }
  std::string Issuer() { return State()->issuer; }
  int Hits(const std::string& path) { return State()->hits[path]; }

  // StartHttps starts a server of the provider; its requests are counted
  // under `tag` + path.
  std::unique_ptr<http::Server> StartHttps(bool with_ip_san = true,
                                           std::string tag = "") {
    return Must(http::Server::Start(
        pki_.ServerOptions(with_ip_san),
        [this, tag](const http::Request& r) { return Serve(r, tag); }));
  }

  http::Response Serve(const http::Request& req, const std::string& tag = "") {
    std::lock_guard<std::mutex> lock(mu_);
    ++state_.hits[tag + req.path];
    if (req.path.ends_with(kDiscovery)) return Discovery();
    if (req.path == "/jwks") return Answer(200, Padded(PublishedKeys()));
    if (req.path == "/token") return TokenEndpoint(req);
    return Answer(404, Json{{"error", "not_found"}});
  }
  static http::Response Answer(int status, const Json& body) {
    http::Response r;
    r.status = status;
    r.body = DumpJson(body);
    return r;
  }
  http::Response Discovery() {
    const ProviderState& s = state_;
    if (s.discovery_status != 200) {
      http::Response r = Answer(s.discovery_status, Json::object());
      r.headers = {{"Location", s.issuer + "/elsewhere"}};
      return r;
    }
    Json doc{
        {"issuer", s.document_issuer.empty() ? s.issuer : s.document_issuer},
        {"authorization_endpoint", s.issuer + "/auth"},
        {"token_endpoint", s.issuer + "/token"},
        {"jwks_uri", s.jwks_uri.empty() ? s.issuer + "/jwks" : s.jwks_uri},
        {"response_types_supported", {"code"}},
        {"id_token_signing_alg_values_supported", s.algs},
        {"code_challenge_methods_supported", {"S256"}},
        {"token_endpoint_auth_methods_supported", s.auth_methods}};
    if (s.discovery_padding > 0) {
      doc["padding"] = std::string(s.discovery_padding, 'x');
    }
    return Answer(200, doc);
  }
  Json Padded(Json doc) const {
    if (state_.padding > 0) doc["padding"] = std::string(state_.padding, 'x');
    return doc;
  }
  Json PublishedKeys() const {
    Json set{{"keys", Json::array()}};
    for (const auto& [key, kid] : state_.published) {
      Json jwk = Jwk::FromPublicKey(key->public_key()).ToJson();
      jwk["kid"] = kid;
      set["keys"].push_back(jwk);
    }
    return set;
  }

  // ClientAuthenticated checks the request's client authentication the way
  // a provider does: the exact Basic header (RFC 6749 §2.3.1), or a signed
  // assertion of this client for this token endpoint (RFC 7523 §3).
  bool ClientAuthenticated(const http::Request& req,
                           const std::map<std::string, std::string>& form) {
    auto type = form.find("client_assertion_type");
    if (type == form.end()) {
      const std::string pair = std::string(kClient) + ":" + kSecret;
      return state_.client_key == nullptr &&
             req.Header("authorization") ==
                 "Basic " + Base64Encode(AsBytes(std::string_view(pair)));
    }
    if (state_.client_key == nullptr || !req.Header("authorization").empty() ||
        type->second !=
            "urn:ietf:params:oauth:client-assertion-type:"
            "jwt-bearer" ||
        !form.contains("client_assertion")) {
      return false;
    }
    auto jws = ParseCompact(form.at("client_assertion"));
    if (!jws || !VerifySignature(*jws, state_.client_key->public_key()) ||
        jws->header().value("kid", "") != kClientKid) {
      return false;
    }
    const Bytes& payload = jws->payload();
    auto claims = ParseJson(std::string_view(
        reinterpret_cast<const char*>(payload.data()), payload.size()));
    if (!claims || !claims->is_object()) return false;
    const Json& c = *claims;
    const int64_t now = clock_.Now();
    const std::string jti = c.value("jti", "");
    return c.value("iss", "") == kClient && c.value("sub", "") == kClient &&
           c.value("aud", "") == state_.issuer + "/token" &&
           c.value("iat", int64_t{0}) == now &&
           c.value("exp", int64_t{0}) == now + 60 && jti.size() >= 32 &&
           state_.jtis.insert(jti).second;
  }

  http::Response TokenEndpoint(const http::Request& req) {
    if (state_.token_status != 0) {
      http::Response r = Answer(state_.token_status, Json::object());
      r.headers = {{"Location", state_.issuer + "/elsewhere"}};
      return r;
    }
    std::map<std::string, std::string> form;
    if (req.method != "POST" ||
        req.Header("content-type") != "application/x-www-form-urlencoded" ||
        !http::ParseForm(req.body, form)) {
      return Answer(400, Json{{"error", "invalid_request"}});
    }
    if (!ClientAuthenticated(req, form)) {
      return Answer(401, Json{{"error", "invalid_client"}});
    }
    if (form["grant_type"] != "authorization_code" || form["code"] != kCode ||
        form["code_verifier"] != kVerifier ||
        form["redirect_uri"] != kRedirect) {
      // A description that echoes what it got, as some providers do.
      return Answer(
          400, Json{{"error", "invalid_grant"},
                    {"error_description",
                     "bad " + form["code"] + " " + form["code_verifier"]}});
    }
    return Answer(200, Padded(Json{{"id_token", IdToken(key1_, "k1")},
                                   {"access_token", "at-1"},
                                   {"token_type", "Bearer"},
                                   {"expires_in", 300}}));
  }

  // IdToken is an ID token of the provider (its lock held or not needed).
  std::string IdToken(const PrivateKey& key, const std::string& kid) {
    const Json claims{{"iss", state_.issuer},
                      {"sub", "248289761001"},
                      {"aud", kClient},
                      {"iat", clock_.Now() - 1},
                      {"exp", clock_.Now() + 300},
                      {"nonce", kNonce}};
    Json header{{"alg", std::string(AlgorithmName(key.algorithm()))},
                {"kid", kid}};
    return Must(SignCompact(header, AsBytes(DumpJson(claims)), key));
  }
  std::string Token(const PrivateKey& key, const std::string& kid) {
    std::lock_guard<std::mutex> lock(mu_);
    return IdToken(key, kid);
  }

  OidcProviderOptions Options() {
    OidcProviderOptions o;
    o.issuer = Issuer();
    o.client_id = kClient;
    o.auth.client_secret = SecretBytes(std::string_view(kSecret));
    o.ca_pem = pki_.CaPem();
    o.timeout_seconds = 5;
    return o;
  }
  std::unique_ptr<OidcProviderClient> Client(OidcProviderOptions o) {
    return Must(OidcProviderClient::Create(std::move(o), &clock_));
  }
  std::unique_ptr<OidcProviderClient> Client() { return Client(Options()); }
  Result<VerifiedIdToken> Validate(OidcProviderClient& c,
                                   const std::string& token) {
    return c.Validate(token, IdTokenRules{}, kNonce);
  }
  static Result<TokenResponse> Exchange(OidcProviderClient& c,
                                        std::string_view code = kCode) {
    return c.ExchangeCode(code, kRedirect,
                          SecretBytes(std::string_view(kVerifier)));
  }
  template <typename T>
  static Code CodeOf(const Result<T>& r) {
    EXPECT_FALSE(r.has_value());
    return r ? Code::kInternal : r.error().code();
  }

  WebPki pki_{SystemClock::Default().Now()};
  FixedClock clock_{SystemClock::Default().Now()};
  PrivateKey key1_ = Must(PrivateKey::Generate(KeyType::kEcP256));
  PrivateKey key2_ = Must(PrivateKey::Generate(KeyType::kEcP256));
  std::mutex mu_;
  ProviderState state_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(OidcProviderClientTest, DiscoversTheProviderAndValidatesItsToken) {
  auto client = Client();
  auto m = client->Metadata();
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->issuer, Issuer());
  EXPECT_EQ(m->token_endpoint, Issuer() + "/token");
  auto v = Validate(*client, Token(key1_, "k1"));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->person().subject, "248289761001");
  EXPECT_EQ(v->kid(), "k1");
  EXPECT_EQ(client->fetches(), 2);  // the document, then the keys
  // The nonce is still checked; nothing is fetched again for it.
  auto other = client->Validate(Token(key1_, "k1"), {}, "another-nonce");
  EXPECT_EQ(CodeOf(other), Code::kRequestMismatch);
  EXPECT_EQ(client->fetches(), 2);
  EXPECT_EQ(Hits(kDiscovery), 1);
  EXPECT_EQ(Hits("/jwks"), 1);
}

TEST_F(OidcProviderClientTest, TheRulesAreThisProvidersAndItsAlgorithms) {
  auto client = Client();
  IdTokenRules rules;
  rules.issuer = "https://login.example.com";
  EXPECT_EQ(CodeOf(client->Validate(Token(key1_, "k1"), rules, kNonce)),
            Code::kInvalidArgument);
  // Another client of the same provider is an audience like any: its
  // tokens name it, so this client's token does not pass.
  rules = IdTokenRules{};
  rules.client_id = "another-client";
  EXPECT_EQ(CodeOf(Client()->Validate(Token(key1_, "k1"), rules, kNonce)),
            Code::kAudienceMismatch);
  // An Ed25519 key the provider publishes, but EdDSA is not what its
  // document says it signs with.
  PrivateKey ed = Must(PrivateKey::Generate(KeyType::kEd25519));
  State()->published.push_back({&ed, "ed"});
  State()->algs = {"ES256"};
  EXPECT_EQ(CodeOf(Validate(*client, Token(ed, "ed"))), Code::kAlgNotAllowed);
  State()->algs = {"ES256", "EdDSA"};
  auto with_ed = Client();
  EXPECT_TRUE(Validate(*with_ed, Token(ed, "ed")).has_value());
}

TEST_F(OidcProviderClientTest, ADocumentOfAnotherIssuerIsRefused) {
  for (const std::string& other :
       {std::string("https://login.example.com"), Issuer() + "/",
        std::string("https://127.0.0.1:1")}) {
    State()->document_issuer = other;
    auto client = Client();
    EXPECT_EQ(CodeOf(client->Metadata()), Code::kIssuerMismatch) << other;
    EXPECT_EQ(CodeOf(Validate(*client, Token(key1_, "k1"))),
              Code::kIssuerMismatch);
  }
  EXPECT_EQ(Hits("/jwks"), 0);
}

TEST_F(OidcProviderClientTest, AnIssuerWithAPathHasItsDocumentBelowIt) {
  State()->issuer = Issuer() + "/tenant-a";
  auto client = Client();
  ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(Hits(std::string("/tenant-a") + kDiscovery), 1);
}

TEST_F(OidcProviderClientTest, PlainHttpOnlyForALoopbackTestProvider) {
  PlainHttpServer plain([this](const http::Request& r) { return Serve(r); });
  const std::string local = "http://127.0.0.1:" + std::to_string(plain.port());
  OidcProviderOptions o = Options();
  o.issuer = local;
  auto refused = OidcProviderClient::Create(o, &clock_);
  EXPECT_EQ(CodeOf(refused), Code::kInvalidArgument);
  o.allow_loopback_http = true;
  for (const char* elsewhere :
       {"http://login.example.com", "http://localhost:8080",
        "http://10.0.0.1:8080"}) {
    OidcProviderOptions far = o;
    far.issuer = elsewhere;
    EXPECT_EQ(CodeOf(OidcProviderClient::Create(far, &clock_)),
              Code::kInvalidArgument)
        << elsewhere;
  }
  State()->issuer = local;
  auto client = Client(o);
  auto v = Validate(*client, Token(key1_, "k1"));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_TRUE(Exchange(*client).has_value());
  EXPECT_EQ(client->fetches(), 3);
  EXPECT_EQ(Hits("/token"), 1);
}

TEST_F(OidcProviderClientTest, AnUntrustedCertificateIsRefused) {
  WebPki other(SystemClock::Default().Now());
  OidcProviderOptions o = Options();
  o.ca_pem = other.CaPem();
  auto client = Client(o);
  auto m = client->Metadata();
  EXPECT_EQ(CodeOf(m), Code::kUnauthenticated);
  EXPECT_EQ(CodeOf(Validate(*client, Token(key1_, "k1"))),
            Code::kUnauthenticated);
  // The failure is remembered until retry_seconds have passed.
  EXPECT_EQ(client->fetches(), 1);
  // The system's CAs do not know the test CA either.
  o.ca_pem.clear();
  EXPECT_EQ(CodeOf(Client(o)->Metadata()), Code::kUnauthenticated);
  // The right CA, but a certificate that does not name 127.0.0.1.
  auto unnamed = StartHttps(/*with_ip_san=*/false);
  State()->issuer = "https://127.0.0.1:" + std::to_string(unnamed->port());
  EXPECT_EQ(CodeOf(Client()->Metadata()), Code::kUnauthenticated);
  EXPECT_TRUE(State()->hits.empty());
}

TEST_F(OidcProviderClientTest, TheDocumentIsCachedForItsMaximumAge) {
  auto client = Client();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 1);
  clock_.Advance(86400 - 1);
  ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 1);
  clock_.Advance(1);
  ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 2);
  EXPECT_EQ(Hits(kDiscovery), 2);
}

TEST_F(OidcProviderClientTest, AFailedRefetchKeepsTheLastGoodDocument) {
  auto client = Client();
  ASSERT_TRUE(client->Metadata().has_value());
  State()->discovery_status = 500;
  clock_.Advance(86400);
  auto kept = client->Metadata();
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->token_endpoint, Issuer() + "/token");
  EXPECT_EQ(client->fetches(), 2);
  // Tried again only after retry_seconds.
  ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 2);
  clock_.Advance(60);
  ASSERT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 3);
  // A bad document is a failed fetch too.
  State()->discovery_status = 200;
  State()->document_issuer = "https://login.example.com";
  clock_.Advance(60);
  EXPECT_TRUE(client->Metadata().has_value());
  EXPECT_EQ(client->fetches(), 4);
}

TEST_F(OidcProviderClientTest, RotatedKeysAreFetchedOnceForANewKid) {
  auto client = Client();
  ASSERT_TRUE(Validate(*client, Token(key1_, "k1")).has_value());
  EXPECT_EQ(client->fetches(), 2);
  clock_.Advance(61);
  State()->published = {{&key2_, "k2"}};
  const std::string old_token = Token(key1_, "k1");
  auto v = Validate(*client, Token(key2_, "k2"));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(v->kid(), "k2");
  EXPECT_EQ(client->fetches(), 3);
  // The old key is gone from the set, and its tokens with it; no fetch.
  EXPECT_EQ(CodeOf(Validate(*client, old_token)), Code::kNotFound);
  EXPECT_EQ(client->fetches(), 3);
  EXPECT_EQ(Hits("/jwks"), 2);
}

TEST_F(OidcProviderClientTest, TheKeysMayBeOnAnotherHost) {
  auto cdn = StartHttps(true, "cdn:");
  const std::string jwks =
      "https://127.0.0.1:" + std::to_string(cdn->port()) + "/jwks";
  State()->jwks_uri = jwks;
  auto client = Client();
  auto v = Validate(*client, Token(key1_, "k1"));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(client->Metadata()->jwks_uri, jwks);
  EXPECT_EQ(Hits("cdn:/jwks"), 1);
  EXPECT_EQ(Hits("/jwks"), 0);
}

TEST_F(OidcProviderClientTest, ClientSecretBasicExchangesTheCode) {
  auto client = Client();
  auto tokens = Exchange(*client);
  ASSERT_TRUE(tokens.has_value()) << tokens.error().message();
  EXPECT_TRUE(*tokens->access_token == SecretBytes(std::string_view("at-1")));
  auto v = Validate(
      *client, std::string(tokens->id_token.View(InsecureSecretAccess::Get())));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ(client->fetches(), 3);  // document, token, keys
}

class OidcPrivateKeyJwtTest : public OidcProviderClientTest,
                              public testing::WithParamInterface<KeyType> {};

TEST_P(OidcPrivateKeyJwtTest, ASignedAssertionAuthenticatesTheClient) {
  PrivateKey key = Must(PrivateKey::Generate(GetParam()));
  State()->client_key = &key;
  OidcProviderOptions o = Options();
  o.auth.client_secret.reset();
  o.auth.private_key = key;
  o.auth.key_id = kClientKid;
  auto client = Client(o);
  auto first = Exchange(*client);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  // Each assertion is new (a jti the provider has not seen).
  ASSERT_TRUE(Exchange(*client).has_value());
  EXPECT_EQ(State()->jtis.size(), 2u);
  // Another key under the same kid is refused.
  o.auth.private_key = Must(PrivateKey::Generate(GetParam()));
  auto refused = Exchange(*Client(o));
  EXPECT_EQ(CodeOf(refused), Code::kUnauthenticated);
  EXPECT_NE(refused.error().message().find("invalid_client"),
            std::string::npos);
  // A provider that does not list private_key_jwt is not sent one.
  State()->auth_methods = {"client_secret_basic"};
  auto unlisted = Client(o);
  EXPECT_EQ(CodeOf(Exchange(*unlisted)), Code::kUnsupported);
  EXPECT_EQ(unlisted->fetches(), 1);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, OidcPrivateKeyJwtTest,
                         testing::Values(KeyType::kEcP256, KeyType::kEd25519),
                         [](const testing::TestParamInfo<KeyType>& info) {
                           return info.param == KeyType::kEcP256 ? "es256"
                                                                 : "eddsa";
                         });

// Refusals name the provider's error code, and never carry the code, the
// verifier, the secret or the provider's description.
void ExpectClean(const Result<TokenResponse>& r, Code code,
                 std::string_view names) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), code);
  const std::string& m = r.error().message();
  EXPECT_NE(m.find(names), std::string::npos) << m;
  for (std::string_view secret :
       {std::string_view(kCode), std::string_view(kVerifier),
        std::string_view(kSecret), std::string_view("wrong-c0de-8d9f")}) {
    EXPECT_EQ(m.find(secret), std::string::npos) << m;
  }
  EXPECT_EQ(m.find(Base64Encode(AsBytes(std::string_view(kSecret)))),
            std::string::npos);
}

TEST_F(OidcProviderClientTest, RefusalsAreUnauthenticatedAndCarryNoSecrets) {
  auto client = Client();
  ExpectClean(Exchange(*client, "wrong-c0de-8d9f"), Code::kUnauthenticated,
              "invalid_grant");
  OidcProviderOptions o = Options();
  o.auth.client_secret = SecretBytes(std::string_view("wrong-secret"));
  ExpectClean(Exchange(*Client(o)), Code::kUnauthenticated, "invalid_client");
  State()->token_status = 500;
  ExpectClean(Exchange(*client), Code::kIo, "HTTP 500");
  State()->token_status = 307;
  ExpectClean(Exchange(*client), Code::kIo, "redirect");
  server_->Shutdown(0);
  ExpectClean(Exchange(*client), Code::kIo, "token endpoint");
  EXPECT_EQ(Hits("/elsewhere"), 0);
}

TEST_F(OidcProviderClientTest, OversizedAnswersAreRefused) {
  OidcProviderOptions o = Options();
  o.max_response_bytes = 4096;
  State()->discovery_padding = 8192;
  EXPECT_EQ(CodeOf(Client(o)->Metadata()), Code::kTooLarge);
  State()->discovery_padding = 2048;
  auto client = Client(o);
  EXPECT_TRUE(client->Metadata().has_value());
  // The bound holds for every answer, whatever its parser would take.
  State()->padding = 8192;
  EXPECT_EQ(CodeOf(Exchange(*client)), Code::kTooLarge);
  EXPECT_EQ(CodeOf(Validate(*client, Token(key1_, "k1"))), Code::kTooLarge);
  State()->padding = 2048;
  EXPECT_TRUE(Exchange(*client).has_value());
}

TEST_F(OidcProviderClientTest, RedirectsAreNotFollowed) {
  State()->discovery_status = 302;
  auto m = Client()->Metadata();
  EXPECT_EQ(CodeOf(m), Code::kIo);
  EXPECT_NE(m.error().message().find("redirect"), std::string::npos);
  EXPECT_EQ(Hits("/elsewhere"), 0);
}

TEST_F(OidcProviderClientTest, CreateChecksTheOptions) {
  auto code = [this](const OidcProviderOptions& o) {
    auto c = OidcProviderClient::Create(o, &clock_);
    return c ? std::optional<Code>() : std::optional<Code>(c.error().code());
  };
  EXPECT_EQ(code(Options()), std::nullopt);
  OidcProviderOptions o = Options();
  o.auth.private_key = key1_;
  EXPECT_EQ(code(o), Code::kInvalidArgument);  // both ways
  o.auth.client_secret.reset();
  EXPECT_EQ(code(o), std::nullopt);
  o.auth.private_key.reset();
  EXPECT_EQ(code(o), std::nullopt);  // neither: it validates tokens only
  auto validating = *OidcProviderClient::Create(o, &clock_);
  EXPECT_EQ(validating
                ->ExchangeCode("c", "https://rp.example/cb",
                               SecretBytes(std::string_view("v")))
                .error()
                .code(),
            Code::kUnsupported);
  o = Options();
  o.auth.key_id = "k";
  EXPECT_EQ(code(o), Code::kInvalidArgument);  // a kid without a key
  o = Options();
  o.client_id.clear();
  EXPECT_EQ(code(o), Code::kInvalidArgument);
  o = Options();
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(code(o), Code::kInvalidArgument);  // with ca_pem
  o.ca_pem.clear();
  EXPECT_EQ(code(o), Code::kIo);
  o = Options();
  o.ca_pem = "not PEM";
  EXPECT_EQ(code(o), Code::kMalformed);
  o = Options();
  o.timeout_seconds = 0;
  EXPECT_EQ(code(o), Code::kInvalidArgument);
  for (const char* issuer :
       {"", "login.example.com", "https://login.example.com?x=1",
        "ftp://login.example.com", "https://user@login.example.com"}) {
    o = Options();
    o.issuer = issuer;
    EXPECT_EQ(code(o), Code::kInvalidArgument) << issuer;
  }
  auto client = Client();
  EXPECT_EQ(CodeOf(client->ExchangeCode("", kRedirect, SecretBytes())),
            Code::kInvalidArgument);
  EXPECT_EQ(client->fetches(), 0);
}

}  // namespace
}  // namespace aztp

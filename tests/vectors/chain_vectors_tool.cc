// Generates the chain verification vectors of tests/vectors/chain/ (format:
// tests/vectors/README.md). Every case states the result the rules of
// docs/protocol.md §6 prescribe; the runner (src/chain/vectors_test.cc)
// checks the verifier against them. Keys and certificates are fresh on
// every run; times are fixed.
//
// Usage: chain_vectors_tool OUT_DIR
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/chain/builder.h"
#include "aztp/encoding/base64.h"
#include "testing/trust_domains.h"

namespace aztp {
namespace {

using test_support::Must;

constexpr UnixTime kNow = 1'800'000'000;
const std::string kA = "spiffe://org-a.example/";
const std::string kB = "spiffe://org-b.example/";

// HopId names the signer of hop k: even hops in org-a, odd ones in org-b.
std::string HopId(int k) {
  return (k % 2 == 0 ? kA : kB) + "agent/hop" + std::to_string(k);
}

SpiffeId Id(const std::string& s) { return Must(SpiffeId::Parse(s)); }

struct Settings {
  std::string audience;
  UnixTime now = kNow;
  int64_t skew = 30;
  ChainLimits limits;
  std::optional<std::string> peer;
  bool require_request_binding = false;
  std::optional<RequestBinding> request;
  std::optional<Json> revocations;
  std::vector<std::pair<std::string, std::string>> seen;
  // person_issuers: trust domain name -> issuers (§5.3), or null.
  std::optional<Json> person_issuers;
};

class Generator {
 public:
  explicit Generator(std::string out) : out_(std::move(out)), domains_(kNow) {
    domains_.AddDomain("org-a.example");
    domains_.AddDomain("org-b.example", /*with_intermediate=*/true,
                       KeyType::kEd25519);
    domains_.AddDomain("org-c.example");  // never in the bundles
    for (const auto& td : {"org-a.example", "org-b.example"}) {
      trusted_.Put(
          *domains_.Bundles()->GetBundle(Must(TrustDomain::Parse(td))));
    }
  }

  int count() const { return count_; }

  // ---- token assembly ----

  HopClaims Root(const std::string& iss, const std::string& aud,
                 std::vector<std::string> caps = {"payments:*",
                                                  "calendar:read"}) {
    HopClaims c{Id(iss), iss, Id(aud)};
    c.iat = kNow;
    c.exp = kNow + 300;
    c.jti = NextJti();
    c.txn = "txn-vectors";
    c.dep = 0;
    c.max = 15;
    c.cap = Must(CapabilitySet::FromStrings(caps));
    return c;
  }

  // Next derives token i+1's claims from token i's, for `aud`.
  HopClaims Next(const HopClaims& prev, const std::string& prev_compact,
                 const std::string& aud, ChainEncoding enc) {
    HopClaims c = prev;
    c.iss = prev.aud;
    c.aud = Id(aud);
    c.jti = NextJti();
    c.dep = prev.dep + 1;
    c.enc.reset();
    c.prs.reset();
    c.prv.reset();
    c.obo.reset();
    c.req.reset();
    if (enc == ChainEncoding::kLinked) {
      c.prv = TokenDigest(prev_compact);
    } else {
      c.obo = prev_compact;
    }
    return c;
  }

  std::string Sign(const HopClaims& c) {
    return Must(domains_.Signer(c.iss.str()).Sign(c));
  }

  // Chain builds tokens hop by hop: `edit(i, claims)` may change token i's
  // claims before it is signed (and before token i+1 links to it).
  struct Built {
    std::string header;
    std::vector<std::string> tokens;
    std::vector<HopClaims> claims;
  };
  Built Chain(int hops, ChainEncoding enc,
              const std::function<void(int, HopClaims&)>& edit = nullptr,
              std::vector<std::string> root_caps = {"payments:*",
                                                    "calendar:read"}) {
    Built b;
    for (int i = 0; i < hops; ++i) {
      HopClaims c =
          i == 0 ? Root(HopId(0), HopId(1), root_caps)
                 : Next(b.claims.back(), b.tokens.back(), HopId(i + 1), enc);
      if (i == 0 && enc == ChainEncoding::kNested) c.enc = enc;
      if (edit) edit(i, c);
      b.tokens.push_back(Sign(c));
      b.claims.push_back(c);
    }
    b.header = Join(b.tokens, enc);
    return b;
  }

  static std::string Join(const std::vector<std::string>& tokens,
                          ChainEncoding enc) {
    if (enc == ChainEncoding::kNested) return tokens.back();
    std::string out;
    for (const auto& t : tokens) {
      if (!out.empty()) out += ',';
      out += t;
    }
    return out;
  }

  // SignWithHeader signs `claims` under a hand-made protected header.
  // (Signed by hand, bypassing SignCompact's own refusals.)
  std::string SignWithHeader(const HopSigner& signer, const Json& header,
                             const HopClaims& claims) {
    return SignRawPayload(signer, header, DumpJson(claims.ToJson()));
  }
  std::string SignRawPayload(const HopSigner& signer, const Json& header,
                             const std::string& payload) {
    std::string input =
        Base64UrlEncode(DumpJson(header)) + "." + Base64UrlEncode(payload);
    Bytes sig = Must(signer.key().Sign(AsBytes(input)));
    return input + "." + Base64UrlEncode(sig);
  }
  Json HeaderOf(const HopSigner& signer) {
    Json x5c = Json::array();
    for (const auto& cert : signer.chain())
      x5c.push_back(Base64Encode(cert.der()));
    return Json{{"alg", std::string(AlgorithmName(signer.key().algorithm()))},
                {"typ", "aztp+jwt"},
                {"x5c", x5c}};
  }

  // ---- output ----

  Settings For(const std::string& audience) {
    Settings s;
    s.audience = audience;
    return s;
  }

  void Valid(const std::string& name, const std::string& description,
             const std::string& header, const Settings& s,
             const std::vector<HopClaims>& claims) {
    Json expected = Json::object();
    expected["valid"] = true;
    const HopClaims& outer = claims.back();
    expected["sub"] = outer.sub;
    expected["txn"] = outer.txn;
    Json path = Json::array();
    UnixTime exp = outer.exp;
    for (const auto& c : claims) {
      path.push_back(c.iss.str());
      exp = std::min(exp, c.exp);
    }
    path.push_back(s.audience);
    expected["path"] = path;
    expected["capabilities"] = outer.cap.ToJson();
    expected["depth"] = outer.dep;
    expected["expires_at"] = exp;
    Write(name, description, header, s, expected);
  }

  void Invalid(const std::string& name, const std::string& description,
               const std::string& header, const Settings& s,
               const std::string& reason, std::optional<int> hop) {
    Json expected = Json::object();
    expected["valid"] = false;
    expected["error"] = reason;
    expected["hop"] = hop ? Json(*hop) : Json();
    Write(name, description, header, s, expected);
  }

  const test_support::TestDomains& domains() const { return domains_; }
  test_support::TestDomains& domains() { return domains_; }

 private:
  std::string NextJti() { return Base64UrlEncode(Must(RandomBytes(16))); }

  void Write(const std::string& name, const std::string& description,
             const std::string& header, const Settings& s,
             const Json& expected) {
    Json v = Json::object();
    v["name"] = name;
    v["description"] = description;
    v["bundles"] = trusted_.ToMapJson();
    v["chain"] = header;
    Json verifier = Json::object();
    verifier["audience"] = s.audience;
    verifier["now"] = s.now;
    verifier["skew"] = s.skew;
    verifier["limits"] = {{"max_tokens", s.limits.max_tokens},
                          {"max_token_bytes", s.limits.max_token_bytes},
                          {"max_chain_bytes", s.limits.max_chain_bytes},
                          {"max_lifetime", s.limits.max_lifetime_seconds}};
    verifier["peer"] = s.peer ? Json(*s.peer) : Json();
    verifier["require_request_binding"] = s.require_request_binding;
    if (s.request) {
      verifier["request"] = {
          {"method", s.request->method},
          {"uri", s.request->uri},
          {"body_sha256", Base64UrlEncode(s.request->body_sha256)}};
    } else {
      verifier["request"] = Json();
    }
    verifier["revocations"] = s.revocations ? *s.revocations : Json();
    Json seen = Json::array();
    for (const auto& [iss, jti] : s.seen)
      seen.push_back({{"iss", iss}, {"jti", jti}});
    verifier["seen"] = seen;
    verifier["person_issuers"] = s.person_issuers ? *s.person_issuers : Json();
    v["verifier"] = verifier;
    v["expected"] = expected;
    char prefix[16];
    std::snprintf(prefix, sizeof(prefix), "%03d", ++count_);
    std::string path = out_ + "/" + prefix + "-" + name + ".json";
    auto st = WriteFile(path, DumpJson(v, 1) + "\n");
    if (!st) test_support::MustFail(st.error());
  }

  std::string out_;
  test_support::TestDomains domains_;
  BundleSet trusted_;
  int count_ = 0;
};

void GenerateValid(Generator& g) {
  const auto L = ChainEncoding::kLinked;
  const auto N = ChainEncoding::kNested;
  for (int hops = 1; hops <= 16; ++hops) {
    auto b = g.Chain(hops, L);
    char name[32];
    std::snprintf(name, sizeof(name), "valid-linked-%02d-tokens", hops);
    g.Valid(name,
            "A linked chain of " + std::to_string(hops) +
                " tokens alternating between org-a (ES256) and org-b "
                "(EdDSA, intermediate CA)",
            b.header, g.For(HopId(hops)), b.claims);
  }
  // Nested: as deep as the 8 KiB token limit allows (see
  // docs/protocol.md §5.4); the next depth is in the too_large cases.
  for (int hops = 1;; ++hops) {
    auto b = g.Chain(hops, N);
    if (b.tokens.back().size() > ChainLimits().max_token_bytes) break;
    char name[32];
    std::snprintf(name, sizeof(name), "valid-nested-%02d-tokens", hops);
    g.Valid(name,
            "A nested chain of " + std::to_string(hops) + " tokens (" +
                std::to_string(b.tokens.back().size()) + " bytes)",
            b.header, g.For(HopId(hops)), b.claims);
  }
  // Time boundaries (root lives [kNow, kNow + 300]).
  {
    auto b = g.Chain(1, L);
    Settings s = g.For(HopId(1));
    s.now = kNow + 300;
    g.Valid("valid-exp-equals-now", "exp == now is still valid within the skew",
            b.header, s, b.claims);
    s.now = kNow + 300 + 29;
    g.Valid("valid-skew-edge-exp", "now == exp + skew - 1", b.header, s,
            b.claims);
    s.now = kNow - 30;
    g.Valid("valid-skew-edge-iat", "now == iat - skew", b.header, s, b.claims);
    s.now = kNow + 300;
    s.skew = 0;
    g.Invalid("expired-exp-equals-now-no-skew", "exp == now with skew 0",
              b.header, s, "expired", 0);
    s.skew = 30;
    s.now = kNow + 300 + 30;
    g.Invalid("expired-skew-edge", "now == exp + skew", b.header, s, "expired",
              0);
  }
  {
    // Issued 100 s after kNow (the SVID is valid from kNow - 30).
    auto b = g.Chain(1, L, [](int, HopClaims& c) {
      c.iat = kNow + 100;
      c.exp = kNow + 400;
    });
    Settings s = g.For(HopId(1));
    s.now = kNow + 70;
    g.Valid("valid-skew-edge-future-iat", "now == iat - skew", b.header, s,
            b.claims);
    s.now = kNow + 69;
    g.Invalid("not-yet-valid-skew-edge", "now == iat - skew - 1", b.header, s,
              "not_yet_valid", 0);
  }
  {
    auto b = g.Chain(1, L, [](int, HopClaims& c) { c.nbf = kNow + 100; });
    Settings s = g.For(HopId(1));
    s.now = kNow + 70;
    g.Valid("valid-nbf-skew-edge", "now == nbf - skew", b.header, s, b.claims);
    s.now = kNow + 69;
    g.Invalid("not-yet-valid-nbf", "now == nbf - skew - 1", b.header, s,
              "not_yet_valid", 0);
  }
  {
    // §5.3: a person's chain starts at a control plane (spiffe://<td>/aztpd).
    auto b = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 0) {
        c.iss = Id(kA + "aztpd");
        c.prs = Must(PersonClaims::FromJson(Json::parse(
            R"({"email":"alice@example.com","email_verified":true,)"
            R"("groups":["finance"],"acr":"mfa","auth_time":1799999990})")));
      }
      c.sub = "oidc:https://login.example.com#alice";
      if (i == 1)
        c.cap = Must(CapabilitySet::FromStrings({"payments:refund:eur"}));
    });
    g.Valid("valid-oidc-subject-wildcard-narrowing",
            "A human's chain: the control plane vouches for an OIDC principal; "
            "payments:* narrows to payments:refund:eur",
            b.header, g.For(HopId(2)), b.claims);
  }
  {
    auto b = g.Chain(2, L, [](int, HopClaims& c) {
      c.sub = "oidc:https://login.example.com#cfo";
    });
    g.Invalid("unvouched-subject-agent-asserts-person",
              "An agent signs a root for a person itself", b.header,
              g.For(HopId(2)), "unvouched_subject", 0);
  }
  {
    auto b = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 0) c.prs = PersonClaims{};
    });
    g.Invalid("malformed-prs-agent-subject",
              "prs on a root that acts for its signer, not a person", b.header,
              g.For(HopId(2)), "malformed", 0);
  }
  {
    auto b = g.Chain(
        2, L, [](int, HopClaims& c) { c.sub = kA + "agent/someone-else"; });
    g.Invalid("unvouched-subject-other-workload",
              "An agent signs a root on behalf of another workload", b.header,
              g.For(HopId(2)), "unvouched_subject", 0);
  }
  {
    auto b = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 0) c.iss = Id("spiffe://org-c.example/aztpd");
      c.sub = "oidc:https://login.example.com#alice";
    });
    g.Invalid("untrusted-trust-domain-control-plane",
              "A person's root signed by the control plane of a domain the "
              "verifier has no bundle for",
              b.header, g.For(HopId(2)), "untrusted_trust_domain", 0);
  }
  {
    // §5.3: a foreign domain's control plane vouches only for the issuers
    // the verifier lists for it.
    auto b = g.Chain(1, L, [](int, HopClaims& c) {
      c.iss = Id(kA + "aztpd");
      c.sub = "oidc:https://login.example.com#alice";
    });
    Settings s = g.For(HopId(1));
    g.Invalid("unvouched-subject-foreign-control-plane",
              "org-a's control plane vouches for a person at org-b, which "
              "lists no issuers for org-a",
              b.header, s, "unvouched_subject", 0);
    s.person_issuers = Json{{"org-a.example", {"https://login.example.co"}}};
    g.Invalid("unvouched-subject-foreign-issuer-not-listed",
              "org-b lists another issuer (a prefix of the person's) for "
              "org-a",
              b.header, s, "unvouched_subject", 0);
    s.person_issuers =
        Json{{"org-a.example",
              {"https://login.example.co", "https://login.example.com"}}};
    g.Valid("valid-oidc-subject-foreign-issuer-listed",
            "org-b lists the person's issuer for org-a", b.header, s, b.claims);
    s.person_issuers = Json{{"org-a.example", {"*"}}};
    g.Valid("valid-oidc-subject-foreign-any-issuer",
            "org-b believes org-a's control plane for any issuer", b.header, s,
            b.claims);
  }
  {
    auto b = g.Chain(3, L, [](int i, HopClaims& c) {
      if (i == 0) {
        c.cns = Must(Constraints::FromJson(Json::parse(
            R"({"tds":["org-a.example","org-b.example"],"auds":["spiffe://org-a.example/agent/*","spiffe://org-b.example/agent/*"]})")));
      } else {
        c.cns = Must(Constraints::FromJson(Json::parse(
            R"({"tds":["org-a.example","org-b.example"],"auds":["spiffe://org-a.example/agent/*","spiffe://org-b.example/agent/*"]})")));
      }
    });
    Settings s = g.For(HopId(3));
    s.peer = HopId(2);
    s.revocations = Json::parse(
        R"({"sequence":3,"ids":["spiffe://org-a.example/agent/other"],"jtis":["AAAAAAAAAAAAAAAAAAAAAA"],"serials":["1"]})");
    g.Valid("valid-constraints-peer-revocations",
            "Constraints hold at every hop, the peer matches, and the "
            "revocation list names others",
            b.header, s, b.claims);
  }
  {
    auto b = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 1) {
        c.req = RequestBinding::For("POST", "https://hop2.example/quote",
                                    AsBytes("{\"amount\":10}"));
      }
    });
    Settings s = g.For(HopId(2));
    s.require_request_binding = true;
    s.request = RequestBinding::For("POST", "https://hop2.example/quote",
                                    AsBytes("{\"amount\":10}"));
    g.Valid("valid-request-binding",
            "The outermost token is bound to this request", b.header, s,
            b.claims);
    s.request = RequestBinding::For("POST", "https://hop2.example/quote",
                                    AsBytes("{\"amount\":11}"));
    g.Invalid("request-mismatch-body", "The body differs from the bound one",
              b.header, s, "request_mismatch", 1);
    s.request = RequestBinding::For("GET", "https://hop2.example/quote",
                                    AsBytes("{\"amount\":10}"));
    g.Invalid("request-mismatch-method", "The method differs", b.header, s,
              "request_mismatch", 1);
  }
  {
    auto b = g.Chain(2, L);
    Settings s = g.For(HopId(2));
    s.require_request_binding = true;
    s.request = RequestBinding::For("POST", "https://hop2.example/", {});
    g.Invalid("request-mismatch-unbound",
              "Binding is required but the token carries no req", b.header, s,
              "request_mismatch", 1);
  }
}

void GenerateInvalid(Generator& g) {
  const auto L = ChainEncoding::kLinked;
  const auto N = ChainEncoding::kNested;
  const HopSigner& s0 = g.domains().Signer(HopId(0));
  const std::string aud1 = HopId(1);
  Settings at1 = g.For(aud1);
  HopClaims root = g.Root(HopId(0), aud1);

  // ---- step 1: limits ----
  {
    auto b = g.Chain(17, L);
    g.Invalid("too-large-17-tokens", "17 tokens exceed the 16-token limit",
              b.header, g.For(HopId(17)), "too_large", std::nullopt);
    int hops = 1;
    for (;; ++hops) {
      auto n = g.Chain(hops, N);
      if (n.tokens.back().size() > ChainLimits().max_token_bytes) {
        g.Invalid("too-large-nested-token",
                  "A nested chain whose outermost token exceeds 8 KiB (its "
                  "index is the dep it claims)",
                  n.header, g.For(HopId(hops)), "too_large", hops - 1);
        break;
      }
    }
    HopClaims big = root;
    std::vector<std::string> caps;
    for (int i = 0; i < 64; ++i)
      caps.push_back("cap" + std::to_string(i) + ":" + std::string(100, 'x'));
    big.cap = Must(CapabilitySet::FromStrings(caps));
    g.Invalid("too-large-token", "A token over 8 KiB", g.Sign(big), at1,
              "too_large", 0);
    std::string huge(70000, 'a');
    g.Invalid("too-large-chain", "A header over 64 KiB", huge, at1, "too_large",
              std::nullopt);
  }

  // ---- step 2: syntax ----
  std::string good = g.Sign(root);
  auto parts = [&](const std::string& t) {
    auto d1 = t.find('.');
    auto d2 = t.find('.', d1 + 1);
    return std::array<std::string, 3>{
        t.substr(0, d1), t.substr(d1 + 1, d2 - d1 - 1), t.substr(d2 + 1)};
  };
  {
    auto p = parts(good);
    g.Invalid("malformed-two-parts", "Only two dot-separated parts",
              p[0] + "." + p[1], at1, "malformed", 0);
    g.Invalid("malformed-padding", "base64url with '=' padding",
              p[0] + "." + p[1] + "." + p[2] + "==", at1, "malformed", 0);
    g.Invalid("malformed-empty", "An empty header value", "", at1, "malformed",
              0);
    g.Invalid("malformed-space-after-comma",
              "Linked tokens separated by ', ' (whitespace is not allowed)",
              good + ", " + good, at1, "malformed", 1);
  }
  {
    Json h = g.HeaderOf(s0);
    h["kid"] = "k1";
    g.Invalid("malformed-extra-header", "A kid in the protected header",
              g.SignWithHeader(s0, h, root), at1, "malformed", 0);
    h = g.HeaderOf(s0);
    h["typ"] = "JWT";
    g.Invalid("malformed-typ", "typ is JWT, not aztp+jwt",
              g.SignWithHeader(s0, h, root), at1, "malformed", 0);
    h = g.HeaderOf(s0);
    h.erase("x5c");
    h["jwk"] = {{"kty", "OKP"}};
    g.Invalid("malformed-jwk-header", "A jwk instead of x5c",
              g.SignWithHeader(s0, h, root), at1, "malformed", 0);
    h = g.HeaderOf(s0);
    h["crit"] = Json::array({"exp"});
    g.Invalid("malformed-crit", "A crit header", g.SignWithHeader(s0, h, root),
              at1, "malformed", 0);
    h = g.HeaderOf(s0);
    h["x5c"] = Json::array({"not base64!"});
    g.Invalid("malformed-x5c", "x5c that is not base64 DER (found at step 3)",
              g.SignWithHeader(s0, h, root), at1, "malformed", 0);
  }
  {
    Json claims = root.ToJson();
    claims["scope"] = "admin";
    g.Invalid("malformed-unknown-claim", "An unknown claim",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
    claims = root.ToJson();
    claims["aud"] = Json::array({aud1});
    g.Invalid("malformed-aud-array", "aud as an array",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
    claims = root.ToJson();
    std::string text = DumpJson(claims);
    auto pos = text.find("\"iat\":") + 6;
    auto end = text.find(',', pos);
    text = text.substr(0, end) + ".0" + text.substr(end);
    g.Invalid("malformed-float-iat", "iat written as a float",
              g.SignRawPayload(s0, g.HeaderOf(s0), text), at1, "malformed", 0);
    text = DumpJson(root.ToJson());
    text.insert(1, "\"dep\":0,");
    g.Invalid("malformed-duplicate-claim", "dep appears twice",
              g.SignRawPayload(s0, g.HeaderOf(s0), text), at1, "malformed", 0);
    claims = root.ToJson();
    claims.erase("jti");
    g.Invalid("malformed-missing-jti", "No jti",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
    claims = root.ToJson();
    claims["jti"] = "c2hvcnQ";
    g.Invalid("malformed-short-jti", "jti of 5 bytes (128 bits required)",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
    claims = root.ToJson();
    claims["sub"] = "alice";
    g.Invalid("malformed-sub", "sub that is neither a SPIFFE ID nor oidc:",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
    claims = root.ToJson();
    claims["cap"] = Json::array({"payments:*:x"});
    g.Invalid("malformed-capability", "A wildcard that is not the last segment",
              g.SignRawPayload(s0, g.HeaderOf(s0), DumpJson(claims)), at1,
              "malformed", 0);
  }
  {
    HopClaims c = root;
    c.prv = TokenDigest("x");
    g.Invalid("malformed-root-with-prv", "A root token naming a predecessor",
              g.Sign(c), at1, "malformed", 0);
    auto b = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 1) c.enc = ChainEncoding::kLinked;
    });
    g.Invalid("malformed-enc-on-non-root", "enc on token 1", b.header,
              g.For(HopId(2)), "malformed", 1);
    auto n = g.Chain(2, L, [](int i, HopClaims& c) {
      if (i == 0) c.enc = ChainEncoding::kNested;
    });
    g.Invalid("malformed-encoding-mismatch",
              "The root declares nested but the chain is linked", n.header,
              g.For(HopId(2)), "malformed", 0);
  }

  // ---- step 3: trust, SVID, issuer, algorithm, signature ----
  {
    Json h = g.HeaderOf(s0);
    h["alg"] = "none";
    auto p = parts(g.SignWithHeader(s0, g.HeaderOf(s0), root));
    std::string none = Base64UrlEncode(DumpJson(h)) + "." + p[1] + ".";
    g.Invalid("alg-not-allowed-none", "alg none with an empty signature", none,
              at1, "alg_not_allowed", 0);
    h["alg"] = "HS256";
    std::string hs = Base64UrlEncode(DumpJson(h)) + "." + p[1] + "." + p[2];
    g.Invalid("alg-not-allowed-hs256", "alg HS256", hs, at1, "alg_not_allowed",
              0);
    // org-b signs with Ed25519; claim ES256.
    const HopSigner& s1 = g.domains().Signer(HopId(1));
    HopClaims c1 = g.Root(HopId(1), HopId(2));
    Json h1 = g.HeaderOf(s1);
    std::string eddsa = g.SignWithHeader(s1, h1, c1);
    auto q = parts(eddsa);
    h1["alg"] = "ES256";
    g.Invalid("alg-not-allowed-key-mismatch",
              "alg ES256 on a token signed with an Ed25519 SVID key",
              Base64UrlEncode(DumpJson(h1)) + "." + q[1] + "." + q[2],
              g.For(HopId(2)), "alg_not_allowed", 0);
    // An SVID over an RSA key under org-a's own CA: RS256 fits the key
    // (§4.3) but is not a hop-token algorithm (§5.1).
    test_support::RsaIdentity rsa = g.domains().RsaSvid(HopId(0));
    g.Invalid("alg-not-allowed-rs256-rsa-leaf",
              "alg RS256 on a token signed with an RSA SVID key",
              test_support::SignRsaHopToken(rsa, "RS256", root.ToJson()), at1,
              "alg_not_allowed", 0);
  }
  {
    auto p = parts(good);
    std::string sig = p[2];
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    g.Invalid("bad-signature-flipped", "One signature character changed",
              p[0] + "." + p[1] + "." + sig, at1, "bad_signature", 0);
    // Signed by hop1's key (same algorithm family? no: use another org-a
    // identity's key) under hop0's x5c.
    const HopSigner& other = g.domains().Signer(kA + "agent/other");
    Json h = g.HeaderOf(s0);
    g.Invalid("bad-signature-wrong-key",
              "x5c of hop0, signature by another org-a key",
              g.SignWithHeader(other, h, root), at1, "bad_signature", 0);
    // Payload changed after signing.
    HopClaims changed = root;
    changed.cap = Must(CapabilitySet::FromStrings({"*"}));
    auto pc = parts(g.Sign(changed));
    g.Invalid("bad-signature-payload-swapped",
              "The payload of another token under this signature",
              p[0] + "." + pc[1] + "." + p[2], at1, "bad_signature", 0);
  }
  {
    HopClaims c =
        g.Root(kA.substr(0, 0) + "spiffe://org-c.example/agent/x", aud1);
    g.Invalid("untrusted-trust-domain", "iss in org-c, which has no bundle",
              g.Sign(c), at1, "untrusted_trust_domain", 0);
  }
  {
    // An SVID that expired before now (issued 2 days ago for 1 day).
    HopSigner old = g.domains().FreshSigner(HopId(0), kNow - 2 * 86400, 86400);
    HopClaims c = root;
    c.iat = kNow - 100;
    g.Invalid("svid-invalid-expired", "The x5c leaf has expired",
              Must(old.Sign(c)), at1, "svid_invalid", 0);
    // An org-a identity certified by org-c's CA.
    test_support::TestDomains rogue(kNow);
    rogue.AddDomain("org-a.example");
    const HopSigner& fake = rogue.Signer(HopId(0));
    g.Invalid("svid-invalid-foreign-ca",
              "An org-a SVID issued by a CA that is not org-a's",
              Must(fake.Sign(root)), at1, "svid_invalid", 0);
    // Intermediate missing from org-b's x5c.
    const HopSigner& s1 = g.domains().Signer(HopId(1));
    Json h = g.HeaderOf(s1);
    h["x5c"].erase(1);
    HopClaims c1 = g.Root(HopId(1), HopId(2));
    g.Invalid("svid-invalid-missing-intermediate",
              "org-b's x5c without its intermediate",
              g.SignWithHeader(s1, h, c1), g.For(HopId(2)), "svid_invalid", 0);
  }
  {
    HopClaims c = root;
    c.iss = Id(kA + "agent/impostor");
    g.Invalid("issuer-mismatch", "iss differs from the x5c leaf's SPIFFE ID",
              Must(s0.Sign(c)), at1, "issuer_mismatch", 0);
  }

  // ---- step 4: times ----
  {
    HopClaims c = root;
    c.exp = kNow + 3601;
    g.Invalid("lifetime-exceeded", "exp - iat is over one hour", g.Sign(c), at1,
              "lifetime_exceeded", 0);
    HopSigner brief = g.domains().FreshSigner(HopId(0), kNow, 120);
    g.Invalid("lifetime-exceeded-svid", "The token outlives its SVID",
              Must(brief.Sign(root)), at1, "lifetime_exceeded", 0);
    c = root;
    c.iat = kNow - 400;
    c.exp = kNow - 40;
    g.Invalid("expired", "exp + skew is in the past", g.Sign(c), at1, "expired",
              0);
    c = root;
    c.iat = kNow + 60;
    c.exp = kNow + 360;
    g.Invalid("not-yet-valid", "iat - skew is in the future", g.Sign(c), at1,
              "not_yet_valid", 0);
  }

  // ---- step 5: links ----
  auto link_case = [&](const std::string& name, const std::string& what,
                       int hops, int bad, const std::string& reason,
                       const std::function<void(HopClaims&)>& edit,
                       ChainEncoding enc = ChainEncoding::kLinked) {
    auto b = g.Chain(hops, enc, [&](int i, HopClaims& c) {
      if (i == bad) edit(c);
    });
    std::string aud = b.claims.back().aud.str();
    g.Invalid(name, what, b.header, g.For(aud), reason, bad);
  };
  link_case("broken-link-prv", "prv of token 1 is not the digest of token 0", 3,
            1, "broken_link",
            [](HopClaims& c) { c.prv = TokenDigest("other"); });
  link_case("broken-link-txn", "txn of token 1 differs", 2, 1, "broken_link",
            [](HopClaims& c) { c.txn = "another-txn"; });
  link_case("broken-link-dep", "dep of token 1 is 2", 2, 1, "broken_link",
            [](HopClaims& c) { c.dep = 2; });
  link_case("broken-link-iat-order",
            "token 1 was issued 31 s before token 0 (beyond the skew)", 2, 1,
            "broken_link", [](HopClaims& c) { c.iat = kNow - 31; });
  link_case("subject-mismatch", "sub of token 1 differs", 2, 1,
            "subject_mismatch", [](HopClaims& c) { c.sub = HopId(1); });
  link_case("depth-exceeded-dep-over-max", "token 1 has dep 1 > max 0", 2, 1,
            "depth_exceeded", [](HopClaims& c) { c.max = 0; });
  link_case("depth-exceeded-max-grows", "max of token 1 exceeds token 0's", 2,
            1, "depth_exceeded", [](HopClaims& c) { c.max = 16; });
  link_case("lifetime-exceeded-exp-grows",
            "exp of token 1 is later than token 0's", 2, 1, "lifetime_exceeded",
            [](HopClaims& c) { c.exp = kNow + 301; });
  link_case(
      "capability-escalation", "token 1 adds admin", 2, 1,
      "capability_escalation", [](HopClaims& c) {
        c.cap = Must(CapabilitySet::FromStrings({"payments:quote", "admin"}));
      });
  {
    auto b = g.Chain(3, L, [](int i, HopClaims& c) {
      if (i == 1)
        c.cap = Must(CapabilitySet::FromStrings({"payments:refund:*"}));
      if (i == 2) c.cap = Must(CapabilitySet::FromStrings({"payments:*"}));
    });
    g.Invalid("capability-escalation-wildcard",
              "token 2 widens token 1's payments:refund:* to payments:*",
              b.header, g.For(HopId(3)), "capability_escalation", 2);
  }
  link_case(
      "capability-escalation-nested", "token 1 adds admin (nested)", 2, 1,
      "capability_escalation",
      [](HopClaims& c) { c.cap = Must(CapabilitySet::FromStrings({"admin"})); },
      ChainEncoding::kNested);
  {
    // iss of token 2 edited: sign under a different hop identity whose
    // SVID matches, so only the link is wrong.
    auto b = g.Chain(2, L);
    HopClaims c2 = g.Next(b.claims[1], b.tokens[1], HopId(3), L);
    c2.iss = Id(kA + "agent/other");
    std::string t2 = Must(g.domains().Signer(kA + "agent/other").Sign(c2));
    g.Invalid("broken-link-iss-signed",
              "token 2 is signed by a hop that was not token 1's audience",
              b.header + "," + t2, g.For(HopId(3)), "broken_link", 2);
  }
  {
    auto b = g.Chain(2, L);
    HopClaims c2 = g.Next(b.claims[1], b.tokens[1], HopId(3), L);
    c2.jti = b.claims[0].jti;
    std::string t2 = g.Sign(c2);
    g.Invalid("broken-link-duplicate-jti", "token 2 reuses token 0's jti",
              b.header + "," + t2, g.For(HopId(3)), "broken_link", 2);
  }
  {
    auto b = g.Chain(2, L);
    HopClaims c1 = b.claims[1];
    c1.prv.reset();
    c1.obo = b.tokens[0];
    g.Invalid(
        "broken-link-obo-in-linked", "A linked chain whose token 1 uses obo",
        b.tokens[0] + "," + g.Sign(c1), g.For(HopId(2)), "broken_link", 1);
  }
  {
    auto cns = [](const char* json) {
      return Must(Constraints::FromJson(Json::parse(json)));
    };
    auto b = g.Chain(3, L, [&](int i, HopClaims& c) {
      if (i == 0) c.cns = cns(R"({"tds":["org-a.example"]})");
      if (i > 0) c.cns = cns(R"({"tds":["org-a.example"]})");
    });
    g.Invalid("constraint-violation-tds",
              "The root allows only org-a; token 1 is issued by org-b",
              b.header, g.For(HopId(3)), "constraint_violation", 1);
    b = g.Chain(3, L, [&](int, HopClaims& c) {
      c.cns = cns(R"({"auds":["spiffe://org-a.example/agent/hop2"]})");
    });
    g.Invalid("constraint-violation-auds",
              "token 2's aud (hop3) matches no audience pattern of the root",
              b.header, g.For(HopId(3)), "constraint_violation", 2);
    b = g.Chain(2, L, [&](int i, HopClaims& c) {
      if (i == 0) c.cns = cns(R"({"tds":["org-a.example","org-b.example"]})");
      if (i == 1) c.cns.reset();
    });
    g.Invalid("constraint-violation-dropped", "token 1 drops the root's tds",
              b.header, g.For(HopId(2)), "constraint_violation", 1);
    b = g.Chain(2, L, [&](int i, HopClaims& c) {
      if (i == 0) c.cns = cns(R"({"tds":["org-a.example","org-b.example"]})");
      if (i == 1)
        c.cns =
            cns(R"({"tds":["org-a.example","org-b.example","org-c.example"]})");
    });
    g.Invalid("constraint-violation-widened", "token 1 adds org-c to tds",
              b.header, g.For(HopId(2)), "constraint_violation", 1);
  }

  // ---- step 6: receiver, peer ----
  {
    auto b = g.Chain(2, L);
    g.Invalid("audience-mismatch", "Verified by a hop that is not the audience",
              b.header, g.For(kA + "agent/other"), "audience_mismatch", 1);
    Settings s = g.For(HopId(2));
    s.peer = kA + "agent/other";
    g.Invalid("peer-mismatch", "The TLS peer is not the outermost issuer",
              b.header, s, "peer_mismatch", 1);
    // ---- step 7: replay ----
    s = g.For(HopId(2));
    s.seen = {{b.claims[1].iss.str(), b.claims[1].jti}};
    g.Invalid("replay", "The outermost (iss, jti) was seen before", b.header, s,
              "replay", 1);
    // ---- step 8: revocation ----
    s = g.For(HopId(2));
    s.revocations = Json{{"sequence", 7}, {"ids", Json::array({HopId(0)})}};
    g.Invalid("revoked-id", "The root's identity is revoked", b.header, s,
              "revoked", 0);
    s.revocations =
        Json{{"sequence", 7}, {"jtis", Json::array({b.claims[1].jti})}};
    g.Invalid("revoked-jti", "Token 1 is revoked", b.header, s, "revoked", 1);
    std::string serial = g.domains().Signer(HopId(1)).chain()[0].serial_hex();
    s.revocations = Json{{"sequence", 7}, {"serials", Json::array({serial})}};
    g.Invalid("revoked-serial", "Hop 1's certificate is revoked", b.header, s,
              "revoked", 1);
  }
}

}  // namespace
}  // namespace aztp

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  ::mkdir(argv[1], 0755);
  aztp::Generator g(argv[1]);
  aztp::GenerateValid(g);
  aztp::GenerateInvalid(g);
  std::printf("wrote %d vectors to %s\n", g.count(), argv[1]);
  return 0;
}

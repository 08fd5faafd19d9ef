#include "aztp/base/duration.h"
#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "aztp/encoding/base64.h"
#include "aztp/svid/svid_dir.h"
#include "command.h"

namespace aztp::cli {

namespace {

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// ConstraintFlags are --tds and --auds.
struct ConstraintFlags {
  std::string tds;
  std::string auds;

  Result<std::optional<Constraints>> Build() const {
    if (tds.empty() && auds.empty()) return std::optional<Constraints>();
    Json doc = Json::object();
    if (!tds.empty()) doc["tds"] = SplitList(tds);
    if (!auds.empty()) doc["auds"] = SplitList(auds);
    AZTP_ASSIGN_OR_RETURN(Constraints c, Constraints::FromJson(doc));
    return std::optional<Constraints>(std::move(c));
  }
  void Add(CLI::App* cmd) {
    cmd->add_option("--tds", tds,
                    "constraint: trust domains later hops must lie in (a,b)");
    cmd->add_option("--auds", auds,
                    "constraint: audience patterns for later hops "
                    "(spiffe://td/x or spiffe://td/prefix/*, comma-separated)");
  }
};

Result<HopSigner> LoadSigner(const std::string& dir) {
  AZTP_ASSIGN_OR_RETURN(SvidDir svid, LoadSvidDir(dir, /*require_key=*/true));
  return HopSigner::FromSvidDir(svid);
}

Result<std::optional<int>> OptionalDepth(const std::optional<int>& v) {
  if (v && *v < 0) {
    return Error(Code::kInvalidArgument, "--max-depth must not be negative");
  }
  return v;
}

// ---- mint ----

struct MintFlags {
  std::string svid;
  std::string aud;
  std::vector<std::string> caps;
  std::string sub;
  std::string ttl = "5m";
  std::optional<int> max_depth;
  std::string txn;
  std::string encoding = "linked";
  std::optional<int64_t> now;
  ConstraintFlags constraints;
  RequestFlags request;
};

Result<std::string> Mint(const MintFlags& f) {
  AZTP_ASSIGN_OR_RETURN(HopSigner signer, LoadSigner(f.svid));
  MintOptions o;
  AZTP_ASSIGN_OR_RETURN(o.audience, SpiffeId::ParseUserInput(f.aud));
  AZTP_ASSIGN_OR_RETURN(o.capabilities, CapabilitySet::FromStrings(f.caps));
  if (!f.sub.empty()) o.subject = f.sub;
  AZTP_ASSIGN_OR_RETURN(o.ttl_seconds, ParseDuration(f.ttl));
  AZTP_ASSIGN_OR_RETURN(o.max_depth, OptionalDepth(f.max_depth));
  AZTP_ASSIGN_OR_RETURN(o.constraints, f.constraints.Build());
  if (!f.txn.empty()) o.txn = f.txn;
  AZTP_ASSIGN_OR_RETURN(o.encoding, ParseEncoding(f.encoding));
  AZTP_ASSIGN_OR_RETURN(o.request, f.request.Build());
  return MintChain(signer, o, NowOr(f.now));
}

// ---- verify (shared by extend) ----

Json Describe(const VerifiedChain& v) {
  Json out = Json::object();
  out["valid"] = true;
  out["sub"] = v.subject();
  // The person's claims, as the control plane that started the chain
  // vouched for them (docs/oidc.md).
  if (v.person()) out["person"] = v.person()->ToJson();
  out["txn"] = v.txn();
  Json path = Json::array();
  for (const auto& id : v.path()) path.push_back(id.str());
  out["path"] = std::move(path);
  out["capabilities"] = v.capabilities().ToJson();
  out["constraints"] = v.constraints().ToJson();
  out["expires_at"] = v.expires_at();
  out["depth"] = v.depth();
  out["max_depth"] = v.max_depth();
  out["encoding"] = EncodingName(v.encoding());
  return out;
}

Result<Json> Verify(const ChainVerifyFlags& f) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId audience,
                        SpiffeId::ParseUserInput(f.audience));
  FixedClock clock(NowOr(f.now));
  AZTP_ASSIGN_OR_RETURN(VerifiedChain v, VerifyWith(f, audience, clock));
  return Describe(v);
}

// ---- extend ----

struct ExtendFlags {
  std::string svid;
  std::string aud;
  std::vector<std::string> caps;
  std::string ttl;
  std::optional<int> max_depth;
  ConstraintFlags constraints;
  RequestFlags bind;
  ChainVerifyFlags verify;
};

Result<std::string> Extend(const ExtendFlags& f) {
  AZTP_ASSIGN_OR_RETURN(HopSigner signer, LoadSigner(f.svid));
  FixedClock clock(NowOr(f.verify.now));
  AZTP_ASSIGN_OR_RETURN(VerifiedChain received,
                        VerifyWith(f.verify, signer.id(), clock));
  ExtendOptions o;
  AZTP_ASSIGN_OR_RETURN(o.audience, SpiffeId::ParseUserInput(f.aud));
  if (!f.caps.empty()) {
    AZTP_ASSIGN_OR_RETURN(o.capabilities, CapabilitySet::FromStrings(f.caps));
  }
  if (!f.ttl.empty()) {
    AZTP_ASSIGN_OR_RETURN(o.ttl_seconds, ParseDuration(f.ttl));
  }
  AZTP_ASSIGN_OR_RETURN(o.max_depth, OptionalDepth(f.max_depth));
  AZTP_ASSIGN_OR_RETURN(o.constraints, f.constraints.Build());
  AZTP_ASSIGN_OR_RETURN(o.request, f.bind.Build());
  o.limits.max_tokens = f.verify.max_tokens;
  return ExtendChain(received, signer, o, clock.Now());
}

// ---- inspect ----

Json SummariseX5c(const Json& x5c) {
  Json out = Json::array();
  for (const auto& entry : x5c) {
    Json c = Json::object();
    auto der = entry.is_string() ? Base64Decode(entry.get<std::string>())
                                 : Result<Bytes>(Error(Code::kMalformed, ""));
    auto cert =
        der ? Certificate::FromDer(*der) : Result<Certificate>(der.error());
    if (!cert) {
      c["error"] = "unparseable certificate";
    } else {
      c["subject"] = cert->subject();
      c["uri_sans"] = cert->uri_sans();
      c["serial"] = cert->serial_hex();
      c["not_after"] = Rfc3339(cert->not_after());
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<Json> Inspect(const std::string& source) {
  AZTP_ASSIGN_OR_RETURN(std::string header, ReadInput(source, kMaxChainInput));
  ChainLimits limits;
  AZTP_ASSIGN_OR_RETURN(ParsedChain chain, ParseChainInsecure(header, limits));
  Json tokens = Json::array();
  for (std::size_t i = 0; i < chain.tokens.size(); ++i) {
    const HopToken& t = chain.tokens[i];
    Json header_json = t.jws().header();
    header_json["x5c"] = SummariseX5c(header_json["x5c"]);
    Json claims = t.claims().ToJson();
    // Never print a whole token: `obo` is the previous one.
    if (claims.contains("obo"))
      claims["obo"] = "<token " + std::to_string(i - 1) + ">";
    Json entry = Json::object();
    entry["index"] = i;
    entry["header"] = std::move(header_json);
    entry["claims"] = std::move(claims);
    entry["bytes"] = t.compact().size();
    tokens.push_back(std::move(entry));
  }
  Json out = Json::object();
  out["verified"] = false;
  out["note"] =
      "decoded without verification: nothing here is trustworthy until "
      "`aztp chain verify` accepts the chain";
  out["encoding"] = EncodingName(chain.encoding);
  out["tokens"] = std::move(tokens);
  return out;
}

Result<Json> Raw(Context& ctx, Result<std::string> header) {
  if (!header) return std::move(header).error();
  ctx.raw_output = std::move(*header);
  return Json::object();
}

}  // namespace

void AddChainCommands(CLI::App& app, Context& ctx) {
  auto* chain = app.add_subcommand("chain", "Delegation chains of hop tokens")
                    ->require_subcommand(1);

  auto mf = std::make_shared<MintFlags>();
  auto* mint = chain->add_subcommand(
      "mint", "Sign a root token; prints the Aztp-Chain header value");
  mint->add_option("--svid", mf->svid, "identity folder (svid.pem, svid.key)")
      ->required();
  mint->add_option("--aud", mf->aud, "the first receiving hop")->required();
  mint->add_option("--cap", mf->caps, "capability granted (repeatable)")
      ->required();
  mint->add_option("--sub", mf->sub,
                   "principal (default: the signer; oidc:<iss>#<sub> only "
                   "with a control plane's SVID)");
  mint->add_option("--ttl", mf->ttl, "lifetime (at most 1h)")
      ->capture_default_str()
      ->check(DurationValue());
  mint->add_option("--max-depth", mf->max_depth,
                   "largest token index allowed (default 15)");
  mint->add_option("--txn", mf->txn, "transaction ID (default: random)");
  mint->add_option("--encoding", mf->encoding, "linked or nested")
      ->capture_default_str()
      ->check(Checked([](const std::string& v) { return ParseEncoding(v); }));
  mint->add_option("--now", mf->now, "signing time (Unix seconds)");
  mf->constraints.Add(mint);
  mf->request.Add(mint, "--bind-request", "bind to METHOD URI");
  mint->callback(Run(ctx, [mf, &ctx] { return Raw(ctx, Mint(*mf)); }));

  auto ef = std::make_shared<ExtendFlags>();
  auto* extend = chain->add_subcommand(
      "extend", "Verify a received chain as its audience and append a token");
  extend->add_option("--svid", ef->svid, "this hop's identity folder")
      ->required();
  extend->add_option("--aud", ef->aud, "the next hop")->required();
  extend->add_option("--cap", ef->caps,
                     "capability passed on (default: all received)");
  extend
      ->add_option("--ttl", ef->ttl,
                   "lifetime (default: up to the received expiry)")
      ->check(DurationValue());
  extend->add_option("--max-depth", ef->max_depth,
                     "lower the largest allowed index");
  ef->constraints.Add(extend);
  ef->bind.Add(extend, "--bind-request", "bind the new token to METHOD URI");
  AddChainVerifyFlags(extend, ef->verify, /*with_audience=*/false);
  extend->callback(Run(ctx, [ef, &ctx] { return Raw(ctx, Extend(*ef)); }));

  auto vf = std::make_shared<ChainVerifyFlags>();
  auto* verify =
      chain->add_subcommand("verify", "Verify a chain as its receiving hop");
  AddChainVerifyFlags(verify, *vf, /*with_audience=*/true);
  verify->add_option("--skew", vf->skew, "clock skew, 0s to 5m")
      ->capture_default_str()
      ->check(DurationOrZeroValue());
  verify->add_option("--max-tokens", vf->max_tokens, "token count limit")
      ->capture_default_str();
  verify->add_option("--replay-db", vf->replay_db,
                     "SQLite file remembering seen tokens");
  verify->add_option("--revocations", vf->revocations,
                     "revocation list file (JSON)");
  vf->request.Add(verify, "--request",
                  "METHOD URI of the request; requires a matching binding");
  verify->callback(Run(ctx, [vf, &ctx] {
    ctx.validity_report = true;
    return Verify(*vf);
  }));

  auto source = std::make_shared<std::string>();
  auto* inspect = chain->add_subcommand(
      "inspect", "Decode every token WITHOUT verifying anything");
  inspect->add_option("--chain", *source, "file with the chain, or -")
      ->required();
  inspect->callback(Run(ctx, [source] { return Inspect(*source); }));
}

}  // namespace aztp::cli

#include "command.h"

#include <ctime>
#include <iostream>
#include <iterator>
#include <tuple>

#include "aztp/base/duration.h"
#include "aztp/base/file.h"
#include "aztp/base/secret.h"
#include "aztp/replay/replay_store.h"
#include "aztp/revocation/revocation_list.h"

namespace aztp::cli {

int ExitCodeFor(const Error& error) {
  switch (error.code()) {
    case Code::kIo:
    case Code::kInternal:
    // The server could not be reached or asked to come back later: like
    // an I/O error, nothing was wrong with the input.
    case Code::kUnavailable:
    case Code::kRateLimited:
      return kExitIo;
    default:
      return kExitInvalid;
  }
}

CLI::Validator DurationValue() {
  return Checked([](const std::string& v) { return ParseDuration(v); });
}

CLI::Validator DurationOrZeroValue() {
  return Checked([](const std::string& v) { return ParseDurationOrZero(v); });
}

CLI::Validator KeyTypeValue() {
  return Checked([](const std::string& v) { return ParseKeyType(v); });
}

void AddForceFlag(CLI::App* cmd, bool& force) {
  cmd->add_flag("--force", force, "replace the files --out already holds");
}

Status RefuseToReplace(const std::vector<std::string>& paths, bool force) {
  if (force) return Ok();
  Status absent = RefuseExisting(paths);
  if (absent || absent.error().code() != Code::kAlreadyExists) return absent;
  return Error(Code::kAlreadyExists,
               absent.error().message() + "; --force replaces it");
}

namespace {

// BundleArg is what a --bundle argument may name: a bundle map (FILE),
// one trust domain's bundle where a map could be given instead
// (TRUST_DOMAIN=FILE), or only one trust domain's bundle.
enum class BundleArg { kMap, kBundleOrMap, kBundle };

// WrongBundleFile is the error for `text`, read from `path` as `want`,
// that did not parse (`parse_error`): when the file is of another kind,
// what to pass instead (issue 13: a PEM file got a JSON parser's message).
// The reason stays the parser's, which scripts may test.
Error WrongBundleFile(const std::string& path, std::string_view text,
                      const Error& parse_error, BundleArg want) {
  const std::string file = QuoteInput(path);
  const BundleFileKind kind = SniffBundleFile(text);
  if (kind == BundleFileKind::kPem) {
    return Error(parse_error.code(),
                 file +
                     " is PEM, not a SPIFFE bundle: pass the bundle.json "
                     "that aztp ca init or aztpd init wrote beside it");
  }
  if (kind == BundleFileKind::kBundle && want == BundleArg::kMap) {
    return Error(parse_error.code(),
                 file +
                     " is one trust domain's bundle, not a bundle map: "
                     "pass --bundle TRUST_DOMAIN=" +
                     path);
  }
  if (kind == BundleFileKind::kBundleMap && want != BundleArg::kMap) {
    return Error(
        parse_error.code(),
        file + " is a bundle map, not one trust domain's bundle: " +
            (want == BundleArg::kBundleOrMap
                 ? "pass --bundle " + path + ", without TRUST_DOMAIN="
                 : std::string("pass one domain's bundle.json (aztpd's: "
                               "DATA_DIR/bundle.json of aztpd init)")));
  }
  return parse_error.WithContext(path);
}

}  // namespace

Result<BundleSet> ParseBundleArgs(const std::vector<std::string>& args) {
  BundleSet set;
  // put adds one domain's bundle, refusing a domain given twice.
  auto put = [&set](const Bundle& bundle) -> Status {
    if (set.GetBundle(bundle.trust_domain())) {
      return Error(Code::kInvalidArgument,
                   "--bundle given twice for " + bundle.trust_domain().name());
    }
    set.Put(bundle);
    return Ok();
  };
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos) {
      // A bundle map {"trust_domains": {...}}, as GET /v1/bundles serves.
      AZTP_ASSIGN_OR_RETURN(std::string json, ReadFile(arg));
      auto map = BundleSet::ParseMap(json);
      if (!map) return WrongBundleFile(arg, json, map.error(), BundleArg::kMap);
      for (const auto& [td, bundle] : map->bundles()) {
        AZTP_RETURN_IF_ERROR(put(*bundle));
      }
      continue;
    }
    AZTP_ASSIGN_OR_RETURN(TrustDomain td,
                          TrustDomain::Parse(arg.substr(0, eq)));
    std::string path = arg.substr(eq + 1);
    AZTP_ASSIGN_OR_RETURN(std::string json, ReadFile(path));
    auto bundle = Bundle::Parse(td, json);
    if (!bundle) {
      return WrongBundleFile(path, json, bundle.error(),
                             BundleArg::kBundleOrMap);
    }
    AZTP_RETURN_IF_ERROR(put(*bundle));
  }
  return set;
}

Result<Bundle> ReadBundleArg(const std::string& arg) {
  std::string path = arg;
  std::optional<TrustDomain> td;
  if (auto eq = arg.find('='); eq != std::string::npos) {
    AZTP_ASSIGN_OR_RETURN(td, TrustDomain::Parse(arg.substr(0, eq)));
    path = arg.substr(eq + 1);
  }
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (td) {
    auto bundle = Bundle::Parse(*td, text);
    if (!bundle) {
      return WrongBundleFile(path, text, bundle.error(), BundleArg::kBundle);
    }
    return bundle;
  }
  auto bundle = ParseBundleDocument(text);
  if (!bundle) {
    if (bundle.error().code() == Code::kInvalidArgument) {
      return Error(
          Code::kInvalidArgument,
          bundle.error().message() + "; use --bundle TRUST_DOMAIN=FILE");
    }
    return WrongBundleFile(path, text, bundle.error(), BundleArg::kBundle);
  }
  return bundle;
}

Result<std::string> ReadInput(const std::string& source,
                              std::size_t max_bytes) {
  std::string text;
  if (source == "-") {
    std::istreambuf_iterator<char> it(std::cin), end;
    for (; it != end && text.size() <= max_bytes; ++it) text.push_back(*it);
    if (text.size() > max_bytes) {
      return Error(Code::kTooLarge, "standard input larger than " +
                                        std::to_string(max_bytes) + " bytes");
    }
  } else {
    AZTP_ASSIGN_OR_RETURN(text, ReadFile(source, max_bytes));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

Result<std::optional<RequestBinding>> RequestFlags::Build() const {
  if (method_uri.empty()) {
    if (!body.empty()) {
      return Error(Code::kInvalidArgument, "--body needs a request");
    }
    return std::optional<RequestBinding>();
  }
  std::string content;
  if (!body.empty()) {
    AZTP_ASSIGN_OR_RETURN(content, ReadFile(body, 1u << 30));
  }
  return std::optional<RequestBinding>(
      RequestBinding::For(method_uri[0], method_uri[1], AsBytes(content)));
}

void RequestFlags::Add(CLI::App* cmd, const char* flag, const char* what) {
  cmd->add_option(flag, method_uri, what)->expected(2);
  cmd->add_option("--body", body, "file with the request body");
}

void AddChainVerifyFlags(CLI::App* cmd, ChainVerifyFlags& f, bool with_audience,
                         bool required) {
  cmd->add_option("--chain", f.chain, "file with the Aztp-Chain value, or -")
      ->required(required);
  if (with_audience) {
    cmd->add_option("--audience", f.audience, "this hop's SPIFFE ID")
        ->required(required);
  }
  cmd->add_option("--bundle", f.bundles,
                  "TRUST_DOMAIN=FILE, or a bundle map FILE (repeatable)")
      ->required(required);
  cmd->add_option("--peer", f.peer, "the mTLS peer's SPIFFE ID");
  cmd->add_option("--now", f.now, "verification time (Unix seconds)");
  cmd->add_option("--person-issuer", f.person_issuers,
                  "TRUST_DOMAIN=ISSUER: believe that domain's control plane "
                  "for people of ISSUER (* for any; repeatable). Without it "
                  "only the audience's own domain vouches for people");
}

namespace {

// ParsePersonIssuers reads --person-issuer TRUST_DOMAIN=ISSUER values.
Result<PersonIssuerMap> ParsePersonIssuers(
    const std::vector<std::string>& args) {
  PersonIssuerMap out;
  for (const std::string& arg : args) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      return Error(
          Code::kInvalidArgument,
          "--person-issuer takes TRUST_DOMAIN=ISSUER, not " + QuoteInput(arg));
    }
    out[arg.substr(0, eq)].push_back(arg.substr(eq + 1));
  }
  AZTP_RETURN_IF_ERROR(CheckPersonIssuers(out));
  return out;
}

}  // namespace

Result<VerifiedChain> VerifyWith(const ChainVerifyFlags& f,
                                 const SpiffeId& audience,
                                 const FixedClock& clock) {
  AZTP_ASSIGN_OR_RETURN(BundleSet bundles, ParseBundleArgs(f.bundles));
  ChainVerifierOptions o;
  o.audience = audience;
  o.bundles = std::make_shared<BundleSet>(std::move(bundles));
  AZTP_ASSIGN_OR_RETURN(o.skew_seconds, ParseDurationOrZero(f.skew));
  o.limits.max_tokens = f.max_tokens;
  o.clock = &clock;
  AZTP_ASSIGN_OR_RETURN(o.person_issuers, ParsePersonIssuers(f.person_issuers));
  if (!f.replay_db.empty()) {
    AZTP_ASSIGN_OR_RETURN(auto store, SqliteReplayStore::Open(f.replay_db));
    o.replay = std::move(store);
  }
  if (!f.revocations.empty()) {
    AZTP_ASSIGN_OR_RETURN(auto source,
                          FileRevocationSource::Open(f.revocations));
    o.revocations = std::move(source);
  }
  AZTP_ASSIGN_OR_RETURN(auto verifier, ChainVerifier::Create(std::move(o)));
  AZTP_ASSIGN_OR_RETURN(std::string header, ReadInput(f.chain, kMaxChainInput));
  VerifyContext ctx;
  if (!f.peer.empty()) {
    AZTP_ASSIGN_OR_RETURN(ctx.peer, SpiffeId::ParseUserInput(f.peer));
  }
  AZTP_ASSIGN_OR_RETURN(ctx.request, f.request.Build());
  return verifier->Verify(header, ctx);
}

void AddServerFlags(CLI::App* cmd, ServerFlags& flags, bool api_key_required,
                    bool server_required) {
  cmd->add_option("--server", flags.server,
                  "aztpd base URL, https://host:port (replicas: several, "
                  "comma-separated)")
      ->envname("AZTP_SERVER")
      ->required(server_required);
  cmd->add_option("--api-key", flags.api_key,
                  "API key (prefer the environment variable: arguments are "
                  "visible to other users)")
      ->envname("AZTP_API_KEY")
      ->required(api_key_required && server_required);
  cmd->add_option("--bundle", flags.bundle,
                  "[TRUST_DOMAIN=]FILE: the bundle.json of aztpd's trust "
                  "domain, to authenticate the server")
      ->envname("AZTP_BUNDLE")
      ->required(server_required);
}

std::pair<std::string, std::vector<std::string>> SplitServers(
    std::string_view server) {
  std::vector<std::string> urls;
  for (std::size_t start = 0;;) {
    std::size_t comma = server.find(',', start);
    urls.emplace_back(server.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::string first = std::move(urls.front());
  urls.erase(urls.begin());
  return {std::move(first), std::move(urls)};
}

Result<std::unique_ptr<Client>> ClientFor(ServerFlags& flags) {
  if (flags.server.empty() || flags.bundle.empty()) {
    return Error(Code::kInvalidArgument,
                 "--server and --bundle (or AZTP_SERVER and AZTP_BUNDLE) are "
                 "needed to ask aztpd");
  }
  ClientOptions options;
  options.api_key = SecretBytes(std::string_view(flags.api_key));
  internal::WipeMemory(flags.api_key.data(), flags.api_key.size());
  flags.api_key.clear();
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, ReadBundleArg(flags.bundle));
  std::tie(options.base_url, options.failover_urls) =
      SplitServers(flags.server);
  options.SetTrustBundle(bundle);
  return Client::Create(std::move(options));
}

UnixTime NowOr(const std::optional<int64_t>& now) {
  return now.has_value() ? *now : SystemClock::Default().Now();
}

std::string Rfc3339(UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  struct tm tm {};
  if (gmtime_r(&tt, &tm) == nullptr) return "";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace aztp::cli

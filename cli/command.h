// The CLI's shared plumbing: how a command reports its result, the exit-code
// contract, and the arguments several commands take. Commands are thin: they
// parse flags, call the library and shape its result as JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"
#include "aztp/bundle/bundle.h"
#include "aztp/chain/verifier.h"
#include "aztp/client/client.h"
#include "aztp/encoding/json.h"

namespace aztp::cli {

// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;  // invalid input or failed verification
inline constexpr int kExitUsage = 2;    // usage error
inline constexpr int kExitIo = 3;       // I/O or internal error

// Context collects the outcome of the one command that ran.
struct Context {
  std::optional<Result<Json>> outcome;
  // raw_output, when set, is printed verbatim instead of JSON (e.g. a
  // header value for scripts).
  std::optional<std::string> raw_output;
  // validity_report: errors also carry "valid": false (chain verify).
  bool validity_report = false;
  // exit_code is the exit code of a successful outcome: kExitInvalid for a
  // result that is a "no" scripts test for (a denial of `policy test`).
  int exit_code = kExitOk;
};

// Run wraps a command body for CLI11: the body's result lands in `ctx`.
inline std::function<void()> Run(Context& ctx,
                                 std::function<Result<Json>()> body) {
  return [&ctx, body = std::move(body)] { ctx.outcome = body(); };
}

// Checked runs `parse`, a library parser of a flag's value, while the
// command line is parsed: a value it refuses is then a usage error (exit 2)
// that names the flag and carries the parser's message, `--ttl: "60" is
// not a duration; write e.g. 60s, 15m, 1h`, and nothing has run yet.
template <typename Parse>
CLI::Validator Checked(Parse parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto parsed = parse(value);
        return parsed ? std::string() : parsed.error().message();
      },
      "");
}

// The checks of the flags several commands share.
CLI::Validator DurationValue();
CLI::Validator DurationOrZeroValue();  // 0s too
CLI::Validator KeyTypeValue();

// Commands that write keys never replace a file by accident (docs/cli.md,
// "Files"): replacing a CA's key invalidates every SVID it issued.
// AddForceFlag adds --force, RefuseToReplace checks `paths` unless it was
// given; its error (already_exists) names the file and the flag.
void AddForceFlag(CLI::App* cmd, bool& force);
Status RefuseToReplace(const std::vector<std::string>& paths, bool force);

// ExitCodeFor maps an error to the exit-code contract.
int ExitCodeFor(const Error& error);

// ParseBundleArgs reads `TD=FILE` arguments into a bundle set.
Result<BundleSet> ParseBundleArgs(const std::vector<std::string>& args);

// ReadBundleArg reads a `[TD=]FILE` argument; without `TD=` the trust
// domain is taken from the bundle's X.509 authorities.
Result<Bundle> ReadBundleArg(const std::string& arg);

// kMaxChainInput bounds an Aztp-Chain value read by ReadInput.
inline constexpr std::size_t kMaxChainInput = 1 << 20;

// ReadInput reads FILE, or standard input for '-', of at most `max_bytes`
// (kTooLarge beyond), without trailing newlines.
Result<std::string> ReadInput(const std::string& source, std::size_t max_bytes);

// RequestFlags are --bind-request/--request METHOD URI [--body FILE].
struct RequestFlags {
  std::vector<std::string> method_uri;
  std::string body;

  Result<std::optional<RequestBinding>> Build() const;
  void Add(CLI::App* cmd, const char* flag, const char* what);
};

// ChainVerifyFlags are the flags that verify a received chain (chain verify and
// extend, policy test).
struct ChainVerifyFlags {
  std::string chain;
  std::string audience;
  std::vector<std::string> bundles;
  std::string peer;
  std::optional<int64_t> now;
  std::string skew = "30s";  // a duration, as every duration flag
  int max_tokens = 16;
  std::string replay_db;
  std::string revocations;
  RequestFlags request;
  // person_issuers: TRUST_DOMAIN=ISSUER (or =*), the issuers whose people
  // a domain's control plane is believed for (protocol §5.3).
  std::vector<std::string> person_issuers;
};

// AddChainVerifyFlags adds --chain, --audience (`with_audience`), --bundle,
// --peer, --now and --person-issuer to `cmd`; --chain, --audience and --bundle
// are required when `required`.
void AddChainVerifyFlags(CLI::App* cmd, ChainVerifyFlags& f, bool with_audience,
                         bool required = true);

// VerifyWith verifies the chain of `f` as `audience` at `clock`'s time.
Result<VerifiedChain> VerifyWith(const ChainVerifyFlags& f,
                                 const SpiffeId& audience,
                                 const FixedClock& clock);

// ServerFlags are the flags of every command that talks to aztpd, each
// with an environment fallback.
struct ServerFlags {
  // --server, AZTP_SERVER: https://host:port, or several replicas of
  // aztpd separated by commas (the first is tried first).
  std::string server;
  std::string api_key;  // --api-key, AZTP_API_KEY
  std::string bundle;   // --bundle, AZTP_BUNDLE: [TD=]FILE of aztpd's domain
};

// AddServerFlags adds --server, --api-key and --bundle to `cmd`; the API
// key may be optional for commands whose call also works anonymously, and
// all three for commands that can work without aztpd (then ClientFor
// refuses to run without them).
void AddServerFlags(CLI::App* cmd, ServerFlags& flags,
                    bool api_key_required = true, bool server_required = true);

// SplitServers splits a --server value at its commas into the URL tried
// first and the failover URLs (ClientOptions::failover_urls).
std::pair<std::string, std::vector<std::string>> SplitServers(
    std::string_view server);

// ClientFor builds the SDK client for `flags`; the API key's copy in
// `flags` is wiped once it is in the client's options.
Result<std::unique_ptr<Client>> ClientFor(ServerFlags& flags);

// NowOr returns `now` if the flag was given, else the system time.
UnixTime NowOr(const std::optional<int64_t>& now);

// Rfc3339 formats a Unix time as YYYY-MM-DDTHH:MM:SSZ.
std::string Rfc3339(UnixTime t);

// IdentityJson renders an identity as aztpd does (docs/aztpd.md); links
// only `with_links`.
Json IdentityJson(const Identity& identity, bool with_links);

// ParseFederatesWith turns the --federates-with values and a "none" flag
// into SDK form: nullopt (every federated domain) when neither is given,
// else the checked list (empty for `none`). Both is kInvalidArgument.
Result<std::optional<std::vector<std::string>>> ParseFederatesWith(
    const std::vector<std::string>& domains, bool none);

// UsageMessage is what `aztp` prints for a parse error of `app`: an
// unknown command or flag named with the nearest valid one, a missing
// flag with the environment variable that also sets it.
std::string UsageMessage(CLI::App& app, const CLI::ParseError& error);

// Command groups, one file each.
void AddIdCommands(CLI::App& app, Context& ctx);
void AddCaCommands(CLI::App& app, Context& ctx);
void AddSvidCommands(CLI::App& app, Context& ctx);
void AddBundleCommands(CLI::App& app, Context& ctx);
void AddChainCommands(CLI::App& app, Context& ctx);
void AddIdentityCommands(CLI::App& app, Context& ctx);
void AddApiKeyCommands(CLI::App& app, Context& ctx);
void AddAgentCommands(CLI::App& app, Context& ctx);
void AddPolicyCommands(CLI::App& app, Context& ctx);
void AddAuditCommands(CLI::App& app, Context& ctx);
void AddOidcCommands(CLI::App& app, Context& ctx);
// AddFederationCommands adds `federation`, `identity set-federation` and
// `bundle fetch`; it must run after AddIdentityCommands and
// AddBundleCommands.
void AddFederationCommands(CLI::App& app, Context& ctx);

}  // namespace aztp::cli

// Fuzzes the control plane's API as an authenticated admin would reach it:
// the first line of the input is "METHOD TARGET", an optional second line
// "peer SPIFFE-ID" poses as an mTLS client, and the rest is the JSON body.
// Targets under /astha/v1/ go to the hosted SDK's compat layer with the
// admin key as api_access_key. Whatever arrives, the answer is a JSON error
// object or a success (an envelope for compat), never a crash, never a 5xx
// (the store is healthy; compat's stable 501 for OIAP/OIDC aside) and never
// a leaked private key. State accumulates across inputs in one temporary store,
// so later inputs meet registered identities and rotated keys.
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "aztp/compat/hosted_sdk.h"
#include "aztp/controlplane/control_plane.h"
#include "aztp/encoding/json.h"

namespace {

struct Fixture {
  aztp::FixedClock clock{1'800'000'000};
  std::unique_ptr<aztp::ControlPlane> cp;
  std::unique_ptr<aztp::compat::HostedSdkApi> hosted;
  std::string admin;
  Fixture() {
    const char* base = std::getenv("TMPDIR");
    std::string dir =
        std::string(base != nullptr ? base : "/tmp") + "/aztp_cp_fuzz_XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    auto store = aztp::OpenSqliteStore(dir + "/aztpd.db");
    if (!store) std::abort();
    std::shared_ptr<aztp::Store> shared(std::move(*store));
    auto init = aztp::ControlPlane::Initialize(
        *shared, *aztp::TrustDomain::Parse("fuzz.example"), {}, clock.Now());
    if (!init) std::abort();
    admin = std::string(
        init->admin_api_key.View(aztp::InsecureSecretAccess::Get()));
    aztp::ControlPlaneOptions o;
    o.clock = &clock;
    o.rate_limit.requests_per_second = 0;
    // Federation routes are fuzzed without touching the network.
    o.fetcher = [](const aztp::FederationRelationship&,
                   std::shared_ptr<const aztp::Bundle>) {
      return aztp::Result<aztp::Bundle>(
          aztp::Error(aztp::Code::kUnavailable, "no network while fuzzing"));
    };
    auto cp_or = aztp::ControlPlane::Open(shared, o);
    if (!cp_or) std::abort();
    cp = std::move(*cp_or);
    hosted = std::make_unique<aztp::compat::HostedSdkApi>(*cp);
  }
};

Fixture& Get() {
  static Fixture* f = new Fixture();
  return *f;
}

std::string_view Line(std::string_view& rest) {
  auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest =
      nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 70000) return 0;
  Fixture& f = Get();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view first = Line(rest);
  auto space = first.find(' ');
  if (space == std::string_view::npos) return 0;
  aztp::http::Request req;
  req.method = std::string(first.substr(0, space));
  req.target = std::string(first.substr(space + 1));
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) {
    // A single key=value pair is enough to reach the query parsers.
    std::string query = req.target.substr(q + 1);
    auto eq = query.find('=');
    req.query[query.substr(0, eq)] =
        eq == std::string::npos ? "" : query.substr(eq + 1);
  }
  if (rest.substr(0, 5) == "peer ") {
    auto id = aztp::SpiffeId::Parse(Line(rest).substr(5));
    if (id) req.peer = *id;
  } else {
    req.headers["authorization"] = "Bearer " + f.admin;
  }
  req.headers["content-type"] = "application/json";
  req.body = std::string(rest);
  req.remote = "127.0.0.1:1";
  const bool compat = aztp::compat::HostedSdkApi::Handles(req.path);
  if (compat) req.headers["api_access_key"] = f.admin;
  aztp::http::Response resp =
      compat ? f.hosted->Handle(req) : f.cp->Handle(req);
  if (resp.status >= 500 && !(compat && resp.status == 501)) std::abort();
  // Error messages quote the input, so only a key the input did not bring
  // along counts as a leak.
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (resp.body.find("PRIVATE KEY") != std::string::npos &&
      input.find("PRIVATE KEY") == std::string_view::npos) {
    std::abort();
  }
  if (resp.content_type == "application/json") {
    auto parsed = aztp::ParseJson(resp.body);
    if (!parsed || !parsed->is_object()) std::abort();
    if (compat) {
      if (!parsed->contains("success")) std::abort();
    } else if (resp.status >= 400 && !parsed->contains("error")) {
      std::abort();
    }
  }
  return 0;
}

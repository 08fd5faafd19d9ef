// proxy_load_tool: closed-loop HTTPS load against one URL, for comparing
// aztp-proxy's inbound side with a plain TLS reverse proxy
// (scripts/bench_proxy.sh, docs/performance.md).
//
//   proxy_load_tool --mode aztp --svid DIR --target-id SPIFFE_ID
//                   --bundle FILE --url https://127.0.0.1:PORT/quote
//   proxy_load_tool --mode tls --ca FILE --url https://127.0.0.1:PORT/quote
//   [--connections C] [--requests R] [--warmup W]
//
// C threads each hold one kept-alive TLS connection (one http::Client) and
// take requests from a shared counter until R have been sent; each request
// is a POST with a small JSON body and its latency is measured from before
// the write to the parsed response. In aztp mode the client presents the
// X.509-SVID of DIR (mTLS), authenticates the server as SPIFFE_ID against
// the bundle in FILE, and every request carries its own chain in
// Aztp-Chain (audience SPIFFE_ID, capability --cap): the receiver refuses a
// token it has seen, so all C*W + R chains are minted before anything is
// timed. W requests per connection warm up (handshake, caches) untimed.
//
// Prints one JSON line: {"requests", "seconds", "rps", "p50_ms", "p99_ms",
// "errors"}; a request is an error unless it gets a 200. The first few
// errors go to stderr (status and reason, never a token).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/bundle/bundle.h"
#include "aztp/chain/builder.h"
#include "aztp/encoding/json.h"
#include "aztp/http/address.h"
#include "aztp/http/http.h"
#include "aztp/svid/svid_dir.h"
#include "closed_loop.h"

namespace aztp {
namespace {

constexpr const char* kBody = R"({"amount":12,"currency":"EUR"})";

struct Flags {
  std::string mode;
  std::string url;
  std::string svid;
  std::string target_id;
  std::string bundle;
  std::string ca;
  std::string capability = "payments:quote";
  int connections = 8;
  int requests = 20000;
  int warmup = 50;
};

// Target is a URL split into the client's base URL and the request target.
struct Target {
  std::string base;  // https://host:port
  std::string path;  // /quote
};

Result<Target> SplitUrl(const std::string& url) {
  AZTP_ASSIGN_OR_RETURN(http::Url parsed, http::ParseUrl(url));
  if (parsed.scheme != "https") {
    return Error(Code::kInvalidArgument, "--url must start with https://");
  }
  return Target{url.substr(0, url.size() - parsed.path_and_query.size()),
                parsed.Target()};
}

// LoadBundles reads FILE as one trust domain's SPIFFE bundle (of `td`) or
// as a bundle map {"trust_domains": {...}}.
Result<std::shared_ptr<const BundleSource>> LoadBundles(const std::string& path,
                                                        const TrustDomain& td) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto set = std::make_shared<BundleSet>();
  if (auto one = Bundle::Parse(td, text)) {
    set->Put(std::move(*one));
  } else {
    auto map = BundleSet::ParseMap(text);
    if (!map) return one.error().WithContext(path);
    *set = std::move(*map);
  }
  return std::shared_ptr<const BundleSource>(std::move(set));
}

// Setup is what every connection shares: client options and, in aztp
// mode, the pre-minted chains (index = request number, warm-up first).
struct Setup {
  http::ClientOptions client;
  std::string path;
  std::vector<std::string> chains;
};

Result<Setup> Prepare(const Flags& f) {
  Setup s;
  AZTP_ASSIGN_OR_RETURN(Target t, SplitUrl(f.url));
  s.client.base_url = t.base;
  s.path = t.path;
  s.client.timeout_seconds = 30;
  if (f.mode == "tls") {
    if (f.ca.empty()) {
      return Error(Code::kInvalidArgument, "--mode tls needs --ca");
    }
    s.client.ca_file = f.ca;
    return s;
  }
  if (f.svid.empty() || f.target_id.empty() || f.bundle.empty()) {
    return Error(Code::kInvalidArgument,
                 "--mode aztp needs --svid, --target-id and --bundle");
  }
  AZTP_ASSIGN_OR_RETURN(SpiffeId target, SpiffeId::ParseUserInput(f.target_id));
  AZTP_ASSIGN_OR_RETURN(s.client.bundles,
                        LoadBundles(f.bundle, target.trust_domain()));
  s.client.server_id = target;
  AZTP_ASSIGN_OR_RETURN(SvidDir dir, LoadSvidDir(f.svid, /*require_key=*/true));
  s.client.credentials = std::make_shared<const TlsCredentials>(
      TlsCredentials{dir.chain, *dir.key});
  AZTP_ASSIGN_OR_RETURN(HopSigner signer, HopSigner::FromSvidDir(dir));
  MintOptions m;
  m.audience = target;
  AZTP_ASSIGN_OR_RETURN(m.capabilities,
                        CapabilitySet::FromStrings({f.capability}));
  m.ttl_seconds = 600;
  std::size_t total = static_cast<std::size_t>(f.connections) * f.warmup +
                      static_cast<std::size_t>(f.requests);
  s.chains.reserve(total);
  UnixTime now = SystemClock::Default().Now();
  for (std::size_t i = 0; i < total; ++i) {
    AZTP_ASSIGN_OR_RETURN(std::string chain, MintChain(signer, m, now));
    s.chains.push_back(std::move(chain));
  }
  return s;
}

// Connection is one thread's client.
struct Connection {
  std::unique_ptr<http::Client> client;
};

// SendOne sends request `index` (its chain, in aztp mode) and records a
// failure; returns false on one.
bool SendOne(const Setup& s, http::Client& client, std::size_t index,
             bench::LoadErrors& errors) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!s.chains.empty()) headers.emplace_back("Aztp-Chain", s.chains[index]);
  auto resp = client.Send("POST", s.path, kBody, headers);
  if (!resp) {
    errors.Add(resp.error().reason(), resp.error().message());
    return false;
  }
  if (resp->status != 200) {
    errors.Add("http_" + std::to_string(resp->status),
               resp->body.substr(0, 300));
    return false;
  }
  return true;
}

int Run(const Flags& f) {
  auto setup = Prepare(f);
  if (!setup) {
    std::cerr << "proxy_load_tool: " << setup.error().message() << "\n";
    return 2;
  }
  const Setup& s = *setup;
  std::vector<Connection> conns(f.connections);
  for (auto& c : conns) {
    auto client = http::Client::Create(s.client);
    if (!client) {
      std::cerr << "proxy_load_tool: " << client.error().message() << "\n";
      return 2;
    }
    c.client = std::move(*client);
  }

  bench::LoadErrors errors("proxy_load_tool");
  // Each call has its own chain: the warm-up ones first, by connection.
  const std::size_t timed_base =
      static_cast<std::size_t>(f.connections) * f.warmup;
  bench::LoadResult r = bench::RunClosedLoop(
      f.connections, f.warmup, f.requests, errors,
      [&](int k, bool timed, std::size_t i, bench::LoadErrors& e) {
        std::size_t index =
            timed ? timed_base + i : static_cast<std::size_t>(k) * f.warmup + i;
        return SendOne(s, *conns[k].client, index, e);
      });
  return bench::Report({{"requests", f.requests}}, r, errors);
}

}  // namespace
}  // namespace aztp

int main(int argc, char** argv) {
  aztp::Flags f;
  CLI::App app{"HTTPS load through aztp-proxy or a TLS reverse proxy"};
  app.add_option("--mode", f.mode, "aztp (mTLS + Aztp-Chain) or tls")
      ->required()
      ->check(CLI::IsMember({"aztp", "tls"}));
  app.add_option("--url", f.url, "https://127.0.0.1:PORT/PATH")->required();
  app.add_option("--svid", f.svid, "aztp: SVID folder of the caller");
  app.add_option("--target-id", f.target_id, "aztp: the server's SPIFFE ID");
  app.add_option("--bundle", f.bundle, "aztp: SPIFFE bundle of its domain");
  app.add_option("--cap", f.capability, "aztp: capability granted per chain");
  app.add_option("--ca", f.ca, "tls: CA certificate file (PEM)");
  app.add_option("--connections,-c", f.connections, "connections (threads)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--requests,-n", f.requests, "timed requests in total")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--warmup", f.warmup, "untimed requests per connection")
      ->check(CLI::Range(0, 100'000));
  CLI11_PARSE(app, argc, argv);
  return aztp::Run(f);
}

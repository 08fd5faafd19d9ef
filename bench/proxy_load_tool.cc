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

namespace aztp {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kBody = R"({"amount":12,"currency":"EUR"})";
constexpr int kMaxReportedErrors = 5;

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

// Errors counts failed requests and reports the first few.
class Errors {
 public:
  void Add(const std::string& what) {
    std::lock_guard lock(mu_);
    if (++count_ <= kMaxReportedErrors) {
      std::cerr << "proxy_load_tool: " << what << "\n";
    }
  }
  long count() const {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  mutable std::mutex mu_;
  long count_ = 0;
};

// Connection is one thread's client and what it measured.
struct Connection {
  std::unique_ptr<http::Client> client;
  std::vector<double> latencies_ms;
};

// SendOne sends request `index` (its chain, in aztp mode) and records a
// failure; returns false on one.
bool SendOne(const Setup& s, http::Client& client, std::size_t index,
             Errors& errors) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!s.chains.empty()) headers.emplace_back("Aztp-Chain", s.chains[index]);
  auto resp = client.Send("POST", s.path, kBody, headers);
  if (!resp) {
    errors.Add("request failed: " + resp.error().message());
    return false;
  }
  if (resp->status != 200) {
    errors.Add("HTTP " + std::to_string(resp->status) + ": " +
               resp->body.substr(0, 300));
    return false;
  }
  return true;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * sorted.size()));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
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
    c.latencies_ms.reserve(f.requests / f.connections + 1);
  }

  Errors errors;
  std::atomic<std::size_t> next{0};
  std::latch warmed(f.connections);
  std::latch go(1);
  const std::size_t timed_base =
      static_cast<std::size_t>(f.connections) * f.warmup;
  std::vector<std::thread> threads;
  for (int k = 0; k < f.connections; ++k) {
    threads.emplace_back([&, k] {
      Connection& c = conns[k];
      Errors warmup_errors;
      for (int i = 0; i < f.warmup; ++i) {
        SendOne(s, *c.client, static_cast<std::size_t>(k) * f.warmup + i,
                warmup_errors);
      }
      warmed.count_down();
      go.wait();
      for (;;) {
        std::size_t i = next.fetch_add(1);
        if (i >= static_cast<std::size_t>(f.requests)) break;
        auto start = SteadyClock::now();
        bool ok = SendOne(s, *c.client, timed_base + i, errors);
        std::chrono::duration<double, std::milli> took =
            SteadyClock::now() - start;
        if (ok) c.latencies_ms.push_back(took.count());
      }
    });
  }
  warmed.wait();
  auto start = SteadyClock::now();
  go.count_down();
  for (auto& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(SteadyClock::now() - start).count();

  std::vector<double> all;
  for (const auto& c : conns) {
    all.insert(all.end(), c.latencies_ms.begin(), c.latencies_ms.end());
  }
  std::sort(all.begin(), all.end());
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  Json out = {{"requests", f.requests},
              {"seconds", round3(seconds)},
              {"rps", std::round(all.size() / seconds)},
              {"p50_ms", round3(Percentile(all, 0.50))},
              {"p99_ms", round3(Percentile(all, 0.99))},
              {"errors", errors.count()}};
  std::cout << DumpJson(out) << std::endl;
  return errors.count() == 0 ? 0 : 1;
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

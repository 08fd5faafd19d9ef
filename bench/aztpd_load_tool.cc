// aztpd_load_tool: closed-loop load on aztpd's API through the SDK client,
// for comparing aztpd on SQLite with aztpd replicas on PostgreSQL
// (scripts/bench_scale.sh).
//
//   aztpd_load_tool --mode register|issue --url https://127.0.0.1:PORT
//                   [--url ...] --bundle bundle.json --api-key-file FILE
//                   [--threads T] [--requests R] [--warmup W]
//
// T threads each own one aztp::Client with a single base URL, the URLs
// given taken in turn (thread k talks to URL k mod N), so that the load is
// spread evenly over replicas without relying on the client's failover. A
// thread makes one call at a time on its one kept-alive connection, and the
// threads take requests from a shared counter until R have been sent.
//
//   register  each request is POST /v1/identities of a new identity
//             (spiffe://<td>/<prefix>/<run>/...; <run> is random, so runs
//             against the same store never collide).
//   issue     each thread first registers one identity and makes one key
//             and CSR (untimed); each request is then POST /v1/svid/x509
//             for that identity with that CSR. The client checks every
//             SVID it gets (ID, key, chain against the bundle), as any SDK
//             user would, so that check is part of the latency.
//
// W calls per thread warm up untimed (TLS handshake, caches, pools). A
// latency runs from the call to its parsed, checked result; only successful
// calls are in the percentiles. Calls are not retried (max_attempts 1), so
// a refusal such as 503 is counted as an error instead of being hidden in
// a longer latency.
//
// Prints one JSON line: {"mode", "urls", "threads", "requests", "seconds",
// "rps", "p50_ms", "p99_ms", "errors", "error_reasons"}; rps counts
// successful calls. The first few errors go to stderr (reason and message;
// the SDK never puts the API key or keys in them). Exit 0 without errors,
// 1 with some, 2 when the setup failed.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aztp/base/file.h"
#include "aztp/client/client.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/json.h"
#include "aztp/x509/csr.h"
#include "closed_loop.h"

namespace aztp {
namespace {

struct Flags {
  std::string mode;
  std::vector<std::string> urls;
  std::string bundle;
  std::string api_key_file;
  std::string prefix = "bench";
  int threads = 8;
  int requests = 3000;
  int warmup = 20;
};

// Worker is one thread's client, its issuing identity and CSR (issue
// mode), and what it measured.
struct Worker {
  std::unique_ptr<Client> client;
  std::optional<SpiffeId> svid_id;
  std::optional<CertificateRequest> csr;
};

// Setup is what the workers share.
struct Setup {
  Bundle bundle;
  SecretBytes api_key;
  std::string base_path;  // /<prefix>/<run>
};

// RunTag is 32 random bits in hex: runs against the same store (the script
// runs several rounds on each) never register the same identity twice.
std::string RunTag() {
  std::random_device rd;
  std::uniform_int_distribution<uint32_t> dist;
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", dist(rd));
  return buf;
}

Result<Setup> Prepare(const Flags& f) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadFile(f.bundle));
  auto bundle = ParseBundleDocument(text);
  if (!bundle) return bundle.error().WithContext(f.bundle);
  auto key = ReadSecretLine(f.api_key_file);
  if (!key) return key.error().WithContext(f.api_key_file);
  return Setup{std::move(*bundle), std::move(*key),
               "/" + f.prefix + "/" + RunTag()};
}

Result<std::unique_ptr<Client>> ClientFor(const Setup& s,
                                          const std::string& url) {
  ClientOptions o;
  o.base_url = url;
  o.SetTrustBundle(s.bundle);
  o.api_key = s.api_key;
  o.timeout_seconds = 30;
  o.retry.max_attempts = 1;
  o.max_idle_connections = 1;
  return Client::Create(std::move(o));
}

Result<SpiffeId> IdFor(const Setup& s, const std::string& leaf) {
  return SpiffeId::FromSegments(s.bundle.trust_domain(),
                                s.base_path + "/" + leaf);
}

// PrepareWorker creates thread k's client and, in issue mode, registers
// its identity and makes its key and CSR, all before anything is timed.
Status PrepareWorker(const Flags& f, const Setup& s, int k, Worker& w) {
  AZTP_ASSIGN_OR_RETURN(w.client, ClientFor(s, f.urls[k % f.urls.size()]));
  if (f.mode != "issue") return Ok();
  AZTP_ASSIGN_OR_RETURN(SpiffeId id, IdFor(s, "svc" + std::to_string(k)));
  AZTP_RETURN_IF_ERROR(
      w.client->RegisterIdentity(IdentityRegistration{.id = id}));
  AZTP_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kEcP256));
  AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                        CertificateRequest::Create(key, std::nullopt));
  w.svid_id = std::move(id);
  w.csr = std::move(csr);
  return Ok();
}

// CallOne makes call number `name` (register: the identity's last path
// segment) and records a failure; returns false on one.
bool CallOne(const Flags& f, const Setup& s, Worker& w, const std::string& name,
             bench::LoadErrors& errors) {
  Status st;
  if (f.mode == "issue") {
    auto svid = w.client->IssueX509Svid(*w.svid_id, *w.csr);
    if (!svid) st = std::move(svid).error();
  } else {
    auto id = IdFor(s, name);
    if (!id) {
      st = std::move(id).error();
    } else {
      auto done = w.client->RegisterIdentity(
          IdentityRegistration{.id = std::move(*id)});
      if (!done) st = std::move(done).error();
    }
  }
  if (!st) {
    errors.Add(st.error().reason(), st.error().message());
    return false;
  }
  return true;
}

int Run(const Flags& f) {
  auto setup = Prepare(f);
  if (!setup) {
    std::cerr << "aztpd_load_tool: " << setup.error().message() << "\n";
    return 2;
  }
  std::vector<Worker> workers(f.threads);
  for (int k = 0; k < f.threads; ++k) {
    if (Status st = PrepareWorker(f, *setup, k, workers[k]); !st) {
      std::cerr << "aztpd_load_tool: setup of thread " << k << ": "
                << st.error().reason() << ": " << st.error().message() << "\n";
      return 2;
    }
  }
  bench::LoadErrors errors("aztpd_load_tool");
  const Setup& s = *setup;
  // A register call names its identity after the call: w<thread>-<i> while
  // warming up, r<i> when timed.
  bench::LoadResult r = bench::RunClosedLoop(
      f.threads, f.warmup, f.requests, errors,
      [&](int k, bool timed, std::size_t i, bench::LoadErrors& e) {
        std::string name =
            timed ? "r" + std::to_string(i)
                  : "w" + std::to_string(k) + "-" + std::to_string(i);
        return CallOne(f, s, workers[k], name, e);
      });
  return bench::Report({{"mode", f.mode},
                        {"urls", f.urls.size()},
                        {"threads", f.threads},
                        {"requests", f.requests}},
                       r, errors);
}

}  // namespace
}  // namespace aztp

int main(int argc, char** argv) {
  aztp::Flags f;
  CLI::App app{"Closed-loop load on aztpd's API through the SDK client"};
  app.add_option("--mode", f.mode,
                 "register (POST /v1/identities) or issue "
                 "(POST /v1/svid/x509)")
      ->required()
      ->check(CLI::IsMember({"register", "issue"}));
  app.add_option("--url", f.urls,
                 "https://127.0.0.1:PORT of an aztpd; repeat for replicas "
                 "(thread k uses URL k mod N)")
      ->required();
  app.add_option("--bundle", f.bundle, "the trust domain's bundle.json")
      ->required();
  app.add_option("--api-key-file", f.api_key_file,
                 "file holding an admin API key (one line)")
      ->required();
  app.add_option("--prefix", f.prefix, "first path segment of the identities")
      ->check([](const std::string& p) {
        bool ok = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                 c == '_';
        });
        return ok ? std::string() : std::string("letters, digits, - and _");
      });
  app.add_option("--threads,-t", f.threads, "client threads")
      ->check(CLI::Range(1, 1024));
  app.add_option("--requests,-n", f.requests, "timed calls in total")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--warmup", f.warmup, "untimed calls per thread")
      ->check(CLI::Range(0, 100'000));
  CLI11_PARSE(app, argc, argv);
  return aztp::Run(f);
}

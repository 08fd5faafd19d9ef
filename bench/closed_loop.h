// What the closed-loop HTTPS load tools share (proxy_load_tool,
// aztpd_load_tool): N threads that each warm up untimed, then start
// together and take calls from one counter until R have been made; the
// failed calls counted by reason; the latencies summarised.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "aztp/encoding/json.h"

namespace aztp::bench {

// LoadErrors counts failed calls by reason and prints the first few to
// stderr after the tool's name (reasons and messages only: never a key or
// a token).
class LoadErrors {
 public:
  explicit LoadErrors(std::string tool) : tool_(std::move(tool)) {}
  void Add(std::string_view reason, std::string_view message) {
    std::lock_guard lock(mu_);
    ++by_reason_[std::string(reason)];
    if (++count_ <= kMaxReported) {
      std::cerr << tool_ << ": " << reason << ": " << message << "\n";
    }
  }
  long count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  Json ByReason() const {
    std::lock_guard lock(mu_);
    Json out = Json::object();
    for (const auto& [reason, n] : by_reason_) out[reason] = n;
    return out;
  }

 private:
  static constexpr long kMaxReported = 5;
  const std::string tool_;
  mutable std::mutex mu_;
  long count_ = 0;
  std::map<std::string, long> by_reason_;
};

// LoadResult is a timed phase: its wall time and the latencies of the
// calls that succeeded, sorted.
struct LoadResult {
  double seconds = 0;
  std::vector<double> latencies_ms;
};

// RunClosedLoop runs `threads` threads. Thread k first makes `warmup`
// untimed calls call(k, false, i, scratch) (their failures are not
// counted: connections are still opening); then all start together and
// make timed calls call(k, true, i, errors), i from a shared counter, until
// `requests` have been made. `call` returns whether the call succeeded.
template <typename Call>
LoadResult RunClosedLoop(int threads, int warmup, int requests,
                         LoadErrors& errors, Call call) {
  using SteadyClock = std::chrono::steady_clock;
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<std::size_t> next{0};
  std::latch warmed(threads);
  std::latch go(1);
  std::vector<std::thread> pool;
  for (int k = 0; k < threads; ++k) {
    pool.emplace_back([&, k] {
      LoadErrors scratch("warm-up");
      for (int i = 0; i < warmup; ++i) {
        call(k, false, static_cast<std::size_t>(i), scratch);
      }
      warmed.count_down();
      go.wait();
      for (;;) {
        std::size_t i = next.fetch_add(1);
        if (i >= static_cast<std::size_t>(requests)) break;
        auto start = SteadyClock::now();
        bool ok = call(k, true, i, errors);
        std::chrono::duration<double, std::milli> took =
            SteadyClock::now() - start;
        if (ok) latencies[k].push_back(took.count());
      }
    });
  }
  warmed.wait();
  auto start = SteadyClock::now();
  go.count_down();
  for (auto& t : pool) t.join();
  LoadResult out;
  out.seconds =
      std::chrono::duration<double>(SteadyClock::now() - start).count();
  for (const auto& l : latencies) {
    out.latencies_ms.insert(out.latencies_ms.end(), l.begin(), l.end());
  }
  std::sort(out.latencies_ms.begin(), out.latencies_ms.end());
  return out;
}

// Percentile is the nearest-rank percentile `p` (0..1) of sorted values.
inline double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * sorted.size()));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// Summary is the tools' one JSON line: {"seconds", "rps", "p50_ms",
// "p99_ms", "errors", "error_reasons"}.
inline Json Summary(const LoadResult& r, const LoadErrors& errors) {
  auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
  const double n = static_cast<double>(r.latencies_ms.size());
  return Json{{"seconds", round3(r.seconds)},
              {"rps", std::round(n / r.seconds * 10) / 10},
              {"p50_ms", round3(Percentile(r.latencies_ms, 0.50))},
              {"p99_ms", round3(Percentile(r.latencies_ms, 0.99))},
              {"errors", errors.count()},
              {"error_reasons", errors.ByReason()}};
}

// Report prints `head` followed by the Summary as one JSON line on stdout
// and returns the tool's exit code: 0, or 1 when a call failed.
inline int Report(Json head, const LoadResult& r, const LoadErrors& errors) {
  Json summary = Summary(r, errors);
  for (auto& [name, value] : summary.items()) head[name] = value;
  std::cout << DumpJson(head) << std::endl;
  return errors.count() == 0 ? 0 : 1;
}

}  // namespace aztp::bench

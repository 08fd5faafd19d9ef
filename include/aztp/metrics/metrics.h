// Metrics: counters, gauges and histograms rendered in the Prometheus text
// exposition format, version 0.0.4 (the format `GET /metrics` serves).
//
// Metrics are observability, never control flow: a call that breaks a rule
// (an undescribed name, the wrong kind, an invalid value, too many label
// sets) is dropped and counted in `aztp_metrics_errors_total{reason=...}`
// rather than failing the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aztp::metrics {

// Labels are the label names and values of one series. Order does not
// matter: a series is identified, and rendered, with its labels sorted by
// name.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Registry holds metric families and renders the Prometheus text format
// (version 0.0.4). Thread-safe.
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
// [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"; "le" is reserved for
// histograms).
class Registry {
 public:
  // kMaxSeriesPerFamily bounds the label sets of one family; further sets
  // are dropped (reason "too_many_series") so that label values taken from
  // requests cannot exhaust memory.
  static constexpr std::size_t kMaxSeriesPerFamily = 1000;
  // kErrorsName is the counter that records dropped calls, by reason:
  // "unknown_metric", "wrong_kind", "invalid" or "too_many_series".
  static constexpr std::string_view kErrorsName = "aztp_metrics_errors_total";

  // Registry starts empty but for the description of kErrorsName.
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // DescribeCounter declares a counter (a value that only goes up).
  // Describing a name again with the same kind, help and buckets does
  // nothing; a different description is dropped (reason "invalid").
  void DescribeCounter(std::string name, std::string help);
  // DescribeGauge declares a gauge (a value that is set).
  void DescribeGauge(std::string name, std::string help);
  // DescribeHistogram declares a histogram with the given upper bucket
  // bounds, which must be finite and strictly increasing; the +Inf bucket
  // is implicit (a trailing +Inf is accepted and ignored).
  void DescribeHistogram(std::string name, std::string help,
                         std::vector<double> buckets);

  // Add increases a counter by `value` (finite, >= 0). Adding 0 creates the
  // series, so that it renders before its first event.
  void Add(std::string_view name, const Labels& labels, double value = 1);
  // Set sets a gauge.
  void Set(std::string_view name, const Labels& labels, double value);
  // Observe records one observation (not NaN) in a histogram.
  void Observe(std::string_view name, const Labels& labels, double value);

  // Render writes every family that has at least one series, families
  // ordered by name and series by their labels: `# HELP`, `# TYPE`, then
  // the samples. Histograms render cumulative `_bucket{le="..."}` series
  // ending with le="+Inf", then `_sum` and `_count`. Integral values are
  // written as integers, others in the shortest form that reads back
  // exactly; label values escape backslash, double quote and newline.
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Series {
    double value = 0;                   // counter, gauge; histogram sum
    std::vector<uint64_t> bucket_hits;  // histogram: per bucket, not summed
    uint64_t count = 0;                 // histogram
  };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<double> buckets;  // histogram upper bounds, without +Inf
    // Keyed by the rendered label pairs (`a="x",b="y"`), which are unique
    // per label set and give Render its order.
    std::map<std::string, Series, std::less<>> series;
  };

  void Describe(std::string name, std::string help, Kind kind,
                std::vector<double> buckets);
  // Find returns the series for `labels` in family `name` of `kind`, or
  // nullptr after counting why not. Needs mu_.
  Series* Find(std::string_view name, const Labels& labels, Kind kind);
  // CountError records a dropped call. Needs mu_.
  void CountError(std::string_view reason);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace aztp::metrics

#include "aztp/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace aztp::metrics {

namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// ValidMetricName: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return IsNameStart(c) || IsDigit(c) || c == ':';
  });
}

// ValidLabelName: [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" are
// reserved for Prometheus itself.
bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  if (name.substr(0, 2) == "__") return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsNameStart(c) || IsDigit(c); });
}

// FormatValue writes a sample value as the format expects: +Inf, -Inf and
// NaN spelled out; integral values as integers (counters read naturally
// instead of as 1e+05); everything else in the shortest form that parses
// back to the same double.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // 2^53: every integer below is exactly representable, so the cast is
  // exact and cannot overflow.
  constexpr double kExactIntegers = 9007199254740992.0;
  if (v == std::trunc(v) && std::fabs(v) < kExactIntegers) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// AppendLabelValue escapes what the format requires in label values.
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// AppendHelp escapes a HELP text (backslash and newline only, per format).
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// SeriesKey renders `labels` sorted by name as `a="x",b="y"`, or returns
// false when a name is invalid, repeated or reserved for the kind.
bool SeriesKey(const Labels& labels, bool histogram, std::string& key) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(labels.size());
  for (const auto& l : labels) sorted.push_back(&l);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const std::string& name = sorted[i]->first;
    if (!ValidLabelName(name)) return false;
    if (histogram && name == "le") return false;
    if (i > 0 && sorted[i - 1]->first == name) return false;
    if (i > 0) key += ',';
    key += name;
    key += "=\"";
    AppendLabelValue(key, sorted[i]->second);
    key += '"';
  }
  return true;
}

// AppendSample writes `name{labels[,extra]} value\n`.
void AppendSample(std::string& out, std::string_view name,
                  std::string_view labels, std::string_view extra,
                  double value) {
  out += name;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

}  // namespace

Registry::Registry() {
  Describe(std::string(kErrorsName),
           "Metric calls dropped because they broke a rule, by reason.",
           Kind::kCounter, {});
}

void Registry::DescribeCounter(std::string name, std::string help) {
  Describe(std::move(name), std::move(help), Kind::kCounter, {});
}

void Registry::DescribeGauge(std::string name, std::string help) {
  Describe(std::move(name), std::move(help), Kind::kGauge, {});
}

void Registry::DescribeHistogram(std::string name, std::string help,
                                 std::vector<double> buckets) {
  if (!buckets.empty() &&
      buckets.back() == std::numeric_limits<double>::infinity()) {
    buckets.pop_back();
  }
  bool valid = true;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
      valid = false;
    }
  }
  if (!valid) {
    std::lock_guard<std::mutex> lock(mu_);
    CountError("invalid");
    return;
  }
  Describe(std::move(name), std::move(help), Kind::kHistogram,
           std::move(buckets));
}

void Registry::Describe(std::string name, std::string help, Kind kind,
                        std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ValidMetricName(name)) {
    CountError("invalid");
    return;
  }
  auto it = families_.find(name);
  if (it != families_.end()) {
    const Family& f = it->second;
    if (f.kind != kind || f.help != help || f.buckets != buckets) {
      CountError("invalid");
    }
    return;
  }
  Family f{kind, std::move(help), std::move(buckets), {}};
  families_.emplace(std::move(name), std::move(f));
}

void Registry::CountError(std::string_view reason) {
  // The errors family is described in the constructor and cannot be
  // replaced, and its few fixed reasons keep it far below the series bound.
  Family& f = families_.find(kErrorsName)->second;
  std::string key = "reason=\"";
  key += reason;
  key += '"';
  f.series[key].value += 1;
}

Registry::Series* Registry::Find(std::string_view name, const Labels& labels,
                                 Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    CountError("unknown_metric");
    return nullptr;
  }
  Family& f = it->second;
  if (f.kind != kind) {
    CountError("wrong_kind");
    return nullptr;
  }
  std::string key;
  if (!SeriesKey(labels, kind == Kind::kHistogram, key)) {
    CountError("invalid");
    return nullptr;
  }
  auto s = f.series.find(key);
  if (s != f.series.end()) return &s->second;
  if (f.series.size() >= kMaxSeriesPerFamily) {
    CountError("too_many_series");
    return nullptr;
  }
  Series fresh;
  if (kind == Kind::kHistogram) fresh.bucket_hits.assign(f.buckets.size(), 0);
  return &f.series.emplace(std::move(key), std::move(fresh)).first->second;
}

void Registry::Add(std::string_view name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  // A counter only goes up; NaN would poison it for good.
  if (!std::isfinite(value) || value < 0) {
    CountError("invalid");
    return;
  }
  if (Series* s = Find(name, labels, Kind::kCounter)) s->value += value;
}

void Registry::Set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Series* s = Find(name, labels, Kind::kGauge)) s->value = value;
}

void Registry::Observe(std::string_view name, const Labels& labels,
                       double value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::isnan(value)) {
    CountError("invalid");
    return;
  }
  Series* s = Find(name, labels, Kind::kHistogram);
  if (s == nullptr) return;
  const std::vector<double>& bounds = families_.find(name)->second.buckets;
  // The first bucket whose upper bound is >= value (le is inclusive);
  // values above the last bound only count in +Inf.
  auto b = std::lower_bound(bounds.begin(), bounds.end(), value);
  if (b != bounds.end()) ++s->bucket_hits[b - bounds.begin()];
  s->value += value;
  ++s->count;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (f.series.empty()) continue;
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendHelp(out, f.help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += f.kind == Kind::kCounter ? "counter"
           : f.kind == Kind::kGauge ? "gauge"
                                    : "histogram";
    out += '\n';
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::kHistogram) {
        AppendSample(out, name, labels, "", s.value);
        continue;
      }
      std::string bucket = name + "_bucket";
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_hits[i];
        AppendSample(out, bucket, labels,
                     "le=\"" + FormatValue(f.buckets[i]) + "\"",
                     static_cast<double>(cumulative));
      }
      AppendSample(out, bucket, labels, "le=\"+Inf\"",
                   static_cast<double>(s.count));
      AppendSample(out, name + "_sum", labels, "", s.value);
      AppendSample(out, name + "_count", labels, "",
                   static_cast<double>(s.count));
    }
  }
  return out;
}

}  // namespace aztp::metrics

#include "aztp/metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace aztp::metrics {
namespace {

TEST(Metrics, EmptyRegistryRendersNothing) {
  Registry r;
  r.DescribeCounter("aztp_requests_total", "Requests.");
  EXPECT_EQ(r.Render(), "");
}

TEST(Metrics, CounterRendersWithLabelsSortedByName) {
  Registry r;
  r.DescribeCounter("aztp_requests_total", "Requests served.");
  r.Add("aztp_requests_total", {{"route", "/v1/bundle"}, {"code", "200"}});
  r.Add("aztp_requests_total", {{"code", "200"}, {"route", "/v1/bundle"}}, 2);
  r.Add("aztp_requests_total", {{"code", "404"}, {"route", "other"}});
  EXPECT_EQ(r.Render(),
            "# HELP aztp_requests_total Requests served.\n"
            "# TYPE aztp_requests_total counter\n"
            "aztp_requests_total{code=\"200\",route=\"/v1/bundle\"} 3\n"
            "aztp_requests_total{code=\"404\",route=\"other\"} 1\n");
}

TEST(Metrics, SeriesWithoutLabelsHasNoBraces) {
  Registry r;
  r.DescribeGauge("aztp_up", "1 when serving.");
  r.Set("aztp_up", {}, 1);
  r.Set("aztp_up", {}, 0.25);
  EXPECT_EQ(r.Render(),
            "# HELP aztp_up 1 when serving.\n"
            "# TYPE aztp_up gauge\n"
            "aztp_up 0.25\n");
}

TEST(Metrics, AddingZeroCreatesTheSeries) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  r.Add("c_total", {}, 0);
  EXPECT_EQ(r.Render(),
            "# HELP c_total C.\n# TYPE c_total counter\nc_total 0\n");
}

TEST(Metrics, FamiliesRenderInNameOrder) {
  Registry r;
  r.DescribeGauge("b", "B.");
  r.DescribeCounter("a_total", "A.");
  r.Set("b", {}, -3);
  r.Add("a_total", {});
  EXPECT_EQ(r.Render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
            "# HELP b B.\n# TYPE b gauge\nb -3\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry r;
  r.DescribeGauge("g", "line one\nback\\slash \"quoted\"");
  r.Set("g", {{"v", "a\\b\"c\nd"}}, 1);
  EXPECT_EQ(r.Render(),
            "# HELP g line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(Metrics, FormatsValues) {
  Registry r;
  r.DescribeGauge("g", "G.");
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<double, std::string>> cases = {
      {100000, "100000"},
      {0.1, "0.1"},
      {-2.5, "-2.5"},
      {1e300, "1e+300"},
      {inf, "+Inf"},
      {-inf, "-Inf"},
      {1.0 / 3, "0.3333333333333333"},
      {std::nan(""), "NaN"}};
  for (const auto& [value, text] : cases) {
    r.Set("g", {}, value);
    EXPECT_EQ(r.Render(), "# HELP g G.\n# TYPE g gauge\ng " + text + "\n");
  }
}

TEST(Metrics, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry r;
  r.DescribeHistogram("aztp_latency_seconds", "Latency.", {0.25, 0.5, 1});
  // 0.25 lands in le="0.25": bounds are inclusive.
  for (double v : {0.125, 0.25, 0.375, 2.0}) {
    r.Observe("aztp_latency_seconds", {{"route", "x"}}, v);
  }
  r.Observe("aztp_latency_seconds", {}, 0.5);
  EXPECT_EQ(r.Render(),
            "# HELP aztp_latency_seconds Latency.\n"
            "# TYPE aztp_latency_seconds histogram\n"
            "aztp_latency_seconds_bucket{le=\"0.25\"} 0\n"
            "aztp_latency_seconds_bucket{le=\"0.5\"} 1\n"
            "aztp_latency_seconds_bucket{le=\"1\"} 1\n"
            "aztp_latency_seconds_bucket{le=\"+Inf\"} 1\n"
            "aztp_latency_seconds_sum 0.5\n"
            "aztp_latency_seconds_count 1\n"
            "aztp_latency_seconds_bucket{route=\"x\",le=\"0.25\"} 2\n"
            "aztp_latency_seconds_bucket{route=\"x\",le=\"0.5\"} 3\n"
            "aztp_latency_seconds_bucket{route=\"x\",le=\"1\"} 3\n"
            "aztp_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
            "aztp_latency_seconds_sum{route=\"x\"} 2.75\n"
            "aztp_latency_seconds_count{route=\"x\"} 4\n");
}

TEST(Metrics, HistogramAcceptsATrailingInfBucket) {
  Registry r;
  r.DescribeHistogram("h", "H.", {1, std::numeric_limits<double>::infinity()});
  r.Observe("h", {}, 3);
  EXPECT_EQ(r.Render(),
            "# HELP h H.\n# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 3\nh_count 1\n");
}

TEST(Metrics, UndescribedNameIsCountedNotFatal) {
  Registry r;
  r.Add("nope_total", {});
  r.Set("nope", {}, 1);
  r.Observe("nope_seconds", {}, 1);
  EXPECT_EQ(r.Render(),
            "# HELP aztp_metrics_errors_total Metric calls dropped because "
            "they broke a rule, by reason.\n"
            "# TYPE aztp_metrics_errors_total counter\n"
            "aztp_metrics_errors_total{reason=\"unknown_metric\"} 3\n");
}

// ErrorCount returns the errors counter for `reason` as rendered, or "".
std::string ErrorCount(const Registry& r, const std::string& reason) {
  std::string text = r.Render();
  std::string prefix = "aztp_metrics_errors_total{reason=\"" + reason + "\"} ";
  auto at = text.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return text.substr(at, text.find('\n', at) - at);
}

TEST(Metrics, WrongKindIsCounted) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  r.DescribeGauge("g", "G.");
  r.Set("c_total", {}, 1);
  r.Observe("g", {}, 1);
  r.Add("g", {});
  EXPECT_EQ(ErrorCount(r, "wrong_kind"), "3");
  EXPECT_EQ(r.Render().find("c_total "), std::string::npos);
}

TEST(Metrics, InvalidCallsAreCounted) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  r.DescribeHistogram("h", "H.", {1});
  r.Add("c_total", {}, -1);                         // decrease
  r.Add("c_total", {}, std::nan(""));               // NaN
  r.Add("c_total", {{"1x", "v"}});                  // label name
  r.Add("c_total", {{"__name__", "v"}});            // reserved
  r.Add("c_total", {{"a", "1"}, {"a", "2"}});       // repeated
  r.Observe("h", {{"le", "1"}}, 1);                 // le
  r.Observe("h", {}, std::nan(""));                 // NaN
  r.DescribeCounter("bad-name", "B.");              // name
  r.DescribeHistogram("h2", "H.", {2, 1});          // order
  r.DescribeHistogram("h3", "H.", {std::nan("")});  // NaN bound
  r.DescribeGauge("c_total", "C.");                 // redescribe
  EXPECT_EQ(ErrorCount(r, "invalid"), "11");
  r.Add("c_total", {});
  EXPECT_NE(r.Render().find("\nc_total 1\n"), std::string::npos);
}

TEST(Metrics, IdenticalRedescriptionIsNotAnError) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  r.DescribeCounter("c_total", "C.");
  r.Add("c_total", {});
  EXPECT_EQ(r.Render(),
            "# HELP c_total C.\n# TYPE c_total counter\nc_total 1\n");
}

TEST(Metrics, LabelSetsPerFamilyAreBounded) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  for (std::size_t i = 0; i < Registry::kMaxSeriesPerFamily + 5; ++i) {
    r.Add("c_total", {{"id", std::to_string(i)}});
  }
  // Known sets still count; new ones are dropped.
  r.Add("c_total", {{"id", "0"}});
  std::string text = r.Render();
  EXPECT_NE(text.find("c_total{id=\"0\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("c_total{id=\"999\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("c_total{id=\"1000\"}"), std::string::npos);
  EXPECT_EQ(ErrorCount(r, "too_many_series"), "5");
}

TEST(Metrics, ConcurrentAddsAreAllCounted) {
  Registry r;
  r.DescribeCounter("c_total", "C.");
  r.DescribeHistogram("h", "H.", {1});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < kPerThread; ++i) {
        r.Add("c_total", {{"k", i % 2 == 0 ? "even" : "odd"}});
        r.Observe("h", {}, t);
        if (i % 1000 == 0) (void)r.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = r.Render();
  EXPECT_NE(text.find("c_total{k=\"even\"} 10000\n"), std::string::npos);
  EXPECT_NE(text.find("c_total{k=\"odd\"} 10000\n"), std::string::npos);
  EXPECT_NE(text.find("h_bucket{le=\"1\"} 10000\n"), std::string::npos);
  EXPECT_NE(text.find("h_count 20000\n"), std::string::npos);
  EXPECT_NE(text.find("h_sum 30000\n"), std::string::npos);
}

}  // namespace
}  // namespace aztp::metrics

// The fixture of the aztp::Client tests: a real control plane served over
// HTTPS on loopback (testing/control_plane_server.h), with a fixed clock.
// Retry waits are recorded, never slept.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aztp/client/client.h"
#include "testing/control_plane_server.h"
#include "testing/trust_domains.h"

namespace aztp::client_test {

inline SpiffeId Id(const std::string& text) {
  return test_support::Must(SpiffeId::Parse(text));
}

// SecretPart is the part of an API key after the dot: what must never show.
inline std::string SecretPart(const std::string& key) {
  return key.substr(key.find('.') + 1);
}

inline http::Response JsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline TrustDomain Td(const std::string& name) {
  return test_support::Must(TrustDomain::Parse(name));
}

// Fetches scripts the partners' bundle endpoints for the control plane's
// federation (ControlPlaneOptions::fetcher): each fetch of a domain takes
// its next answer; without one the endpoint is down.
struct Fetches {
  std::mutex mu;
  std::map<std::string, std::deque<Result<Bundle>>> answers;
  void Push(const std::string& td, Result<Bundle> answer) {
    std::lock_guard<std::mutex> lock(mu);
    answers[td].push_back(std::move(answer));
  }
  Result<Bundle> Take(const TrustDomain& td) {
    std::lock_guard<std::mutex> lock(mu);
    auto& queue = answers[td.name()];
    if (queue.empty()) return Error(Code::kUnavailable, "endpoint down");
    Result<Bundle> next = std::move(queue.front());
    queue.pop_front();
    return next;
  }
};

inline test_support::ControlPlaneServer::Options WithFetches(
    std::shared_ptr<Fetches> fetches) {
  test_support::ControlPlaneServer::Options o;
  o.control_plane.fetcher = [fetches](const FederationRelationship& rel,
                                      std::shared_ptr<const Bundle>) {
    return fetches->Take(rel.trust_domain);
  };
  return o;
}

// kPaymentsPolicy allows quotes from org-b and denies refunds.
inline constexpr std::string_view kPaymentsPolicy = R"({"Statement":[
    {"Sid":"Quotes","Effect":"Allow","Action":"payments:quote",
     "Condition":{"StringEquals":{"aztp:CallerTrustDomain":"org-b.example"}}},
    {"Sid":"NoRefunds","Effect":"Deny","Action":"payments:refund"}]})";

inline Policy Parsed(std::string_view text) {
  return test_support::Must(ParsePolicy(text));
}

class ClientTest : public testing::Test {
 protected:
  ClientOptions Options(const std::string& key) {
    ClientOptions o;
    o.base_url = server_.url();
    o.SetTrustBundle(server_.bundle());
    o.api_key = SecretBytes(std::string_view(key));
    o.clock = &server_.clock();
    o.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lock(waits_mu_);
      waits_.push_back(d);
    };
    return o;
  }
  std::unique_ptr<Client> Make(const std::string& key) {
    return test_support::Must(Client::Create(Options(key)));
  }
  Client& admin() {
    if (admin_ == nullptr) admin_ = Make(server_.admin_api_key());
    return *admin_;
  }
  std::vector<std::chrono::milliseconds> waits() {
    std::lock_guard<std::mutex> lock(waits_mu_);
    return waits_;
  }
  void Register(const std::string& id, bool discoverable = false) {
    IdentityRegistration r{.id = Id(id)};
    r.discoverable = discoverable;
    auto got = admin().RegisterIdentity(r);
    ASSERT_TRUE(got.has_value()) << got.error().message();
  }
  // Count counts the requests to `path` the server saw.
  int Count(const std::string& path) {
    int n = 0;
    for (const auto& r : server_.requests()) n += r.path == path ? 1 : 0;
    return n;
  }

  // partner is a partner domain, org-b.example, whose bundle endpoint
  // `fetches_` plays.
  test_support::TestDomains& partner() {
    if (partner_ == nullptr) {
      partner_ =
          std::make_unique<test_support::TestDomains>(server_.clock().Now());
      partner_->AddDomain("org-b.example");
    }
    return *partner_;
  }
  Bundle PartnerBundle(int64_t sequence) {
    const TrustDomain td = Td("org-b.example");
    return test_support::Must(
        Bundle::Create(td, {partner().Ca(td.name()).root()}, {}, sequence, 60));
  }
  FederationSpec PartnerSpec() {
    FederationSpec spec{.trust_domain = Td("org-b.example")};
    spec.endpoint_url = "https://127.0.0.1:1/v1/bundle";
    spec.profile = EndpointProfile::kHttpsSpiffe;
    spec.endpoint_id = Id("spiffe://org-b.example/aztpd");
    spec.bootstrap_bundle = PartnerBundle(1);
    return spec;
  }

  std::shared_ptr<Fetches> fetches_ = std::make_shared<Fetches>();
  test_support::ControlPlaneServer server_{WithFetches(fetches_)};
  std::unique_ptr<test_support::TestDomains> partner_;  // see partner()
  std::unique_ptr<Client> admin_;
  std::mutex waits_mu_;
  std::vector<std::chrono::milliseconds> waits_;
};

}  // namespace aztp::client_test

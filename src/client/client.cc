// The client's transport: its options, the pool of connections, retries
// with backoff and the mapping of HTTP errors to Codes. The calls
// themselves live beside it by subject: identities.cc, trust.cc,
// federations.cc, policies.cc and audit.cc.
#include "aztp/client/client.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "aztp/http/http.h"
#include "client/client_internal.h"

namespace aztp {

Error client_internal::Malformed(std::string_view what,
                                 std::string_view problem) {
  return Error(Code::kMalformed, std::string(what) + ": unexpected response: " +
                                     std::string(problem));
}

namespace {

using client_internal::Malformed;
using client_internal::Member;

// Responses can be long lists; the transport bounds them at 64 MiB.
constexpr std::size_t kMaxResponseJson = 64 << 20;
// Metadata is nested at most 16 deep in requests; the envelope adds a few.
constexpr int kMaxResponseDepth = 32;
// kMaxServerMessage bounds the server's text quoted in an Error.
constexpr std::size_t kMaxServerMessage = 256;

// ResponseObject parses a response body that must be one JSON object.
Result<Json> ResponseObject(std::string_view body) {
  JsonLimits limits;
  limits.max_bytes = kMaxResponseJson;
  limits.max_depth = kMaxResponseDepth;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(body, limits));
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "the body is not a JSON object");
  }
  return doc;
}

// that nothing the server sends can forge lines or terminal escapes in a
// log, and cuts it at kMaxServerMessage bytes.
std::string CleanServerText(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxServerMessage)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > kMaxServerMessage) out += "...";
  return out;
}

// CodeForStatus classifies an HTTP error status whose body names no
// reason we know (docs/aztpd.md lists the statuses).
Code CodeForStatus(int status) {
  switch (status) {
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kAlreadyExists;
    case 413:
    case 431:
      return Code::kTooLarge;
    case 415:
      return Code::kUnsupported;
    case 429:
      return Code::kRateLimited;
    case 502:
    case 503:
    case 504:
      return Code::kUnavailable;
    default:
      return status >= 400 && status < 500 ? Code::kInvalidArgument
                                           : Code::kInternal;
  }
}

// CodeForReason maps a stable reason string back to its Code.
std::optional<Code> CodeForReason(std::string_view reason) {
  for (int i = 0; i <= static_cast<int>(Code::kUnavailable); ++i) {
    auto code = static_cast<Code>(i);
    if (ReasonString(code) == reason) return code;
  }
  return std::nullopt;
}

// ServerError turns an HTTP error response into an Error: the reason of
// its `{"error", "message"}` body when it names one we know, else the
// status decides. An OAuth error (RFC 6749 §5.2, /v1/oidc/token) carries
// the reason in `reason` and the text in `error_description`.
Error ServerError(const http::Response& response, std::string_view what) {
  Code code = CodeForStatus(response.status);
  std::string message;
  JsonLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_depth = 4;
  auto doc = ParseJson(response.body, limits);
  if (doc && doc->is_object()) {
    const Json* reason = Member(*doc, "reason");
    if (reason == nullptr) reason = Member(*doc, "error");
    if (reason != nullptr && reason->is_string()) {
      if (auto known = CodeForReason(reason->get_ref<const std::string&>())) {
        code = *known;
      }
    }
    const Json* text = Member(*doc, "message");
    if (text == nullptr) text = Member(*doc, "error_description");
    if (text != nullptr && text->is_string()) {
      message = CleanServerText(text->get_ref<const std::string&>());
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(response.status) +
              " without an error description";
  }
  return Error(code, std::string(what) + ": " + message);
}

// RetryAfterSeconds reads a Retry-After header given in seconds.
std::optional<int64_t> RetryAfterSeconds(const http::Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (name != "retry-after") continue;
    if (value.empty() || value.size() > 6) return std::nullopt;
    int64_t seconds = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return std::nullopt;
      seconds = seconds * 10 + (c - '0');
    }
    return seconds;
  }
  return std::nullopt;
}

}  // namespace

SpiffeId AztpdId(const TrustDomain& td) {
  // "/aztpd" is a valid path, so this cannot fail.
  return *SpiffeId::FromSegments(td, "/aztpd");
}

void ClientOptions::SetTrustBundle(const Bundle& bundle) {
  auto set = std::make_shared<BundleSet>();
  set->Put(bundle);
  bundles = std::move(set);
  server_id = AztpdId(bundle.trust_domain());
}

Result<std::unique_ptr<http::Client>> Client::Impl::Acquire(
    std::size_t endpoint) {
  {
    std::lock_guard<std::mutex> lock(pool_mu);
    auto& idle = endpoints[endpoint].idle;
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      return c;
    }
  }
  return http::Client::Create(endpoints[endpoint].http_options);
}

void Client::Impl::Release(std::size_t endpoint,
                           std::unique_ptr<http::Client> c) {
  std::lock_guard<std::mutex> lock(pool_mu);
  auto& idle = endpoints[endpoint].idle;
  if (static_cast<int>(idle.size()) < options.max_idle_connections) {
    idle.push_back(std::move(c));
  }
}

std::chrono::milliseconds Client::Impl::Backoff(
    int retry, std::optional<int64_t> retry_after) {
  const auto cap = options.retry.max_backoff;
  auto base = options.retry.initial_backoff;
  for (int i = 1; i < retry && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  double factor;
  {
    std::lock_guard<std::mutex> lock(rng_mu);
    factor = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  }
  auto wait = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(base.count()) * factor));
  if (retry_after) {
    wait = std::max(wait, std::chrono::milliseconds(
                              std::min<int64_t>(*retry_after, 86400) * 1000));
  }
  return std::min(wait, cap);
}

Client::Impl::Sent Client::Impl::SendOnce(
    std::size_t endpoint, const std::string& method, const std::string& target,
    const std::string& body, std::string_view content_type, bool idempotent) {
  auto conn = Acquire(endpoint);
  if (!conn) return {conn.error(), false};
  // Opened first, so that a server that cannot be reached is known to have
  // received nothing (a kept-alive connection counts as reached: the
  // request may have gone out before it broke).
  if (Status open = (*conn)->Connect(); !open) return {open.error(), false};
  std::vector<std::pair<std::string, std::string>> headers;
  if (!options.api_key.empty()) {
    std::string_view key = options.api_key.View(InsecureSecretAccess::Get());
    std::string value;
    value.reserve(7 + key.size());
    value.append("Bearer ").append(key);
    headers.emplace_back("Authorization", std::move(value));
  }
  headers.emplace_back("Accept", "application/json");
  if (!body.empty()) headers.emplace_back("Content-Type", content_type);
  auto response = (*conn)->Send(method, target, body, headers, idempotent);
  // The header copy of the key is wiped as soon as it has been sent.
  for (auto& [name, value] : headers) {
    internal::WipeMemory(value.data(), value.size());
  }
  Release(endpoint, std::move(*conn));
  return {std::move(response), true};
}

namespace {

// Transient says whether another server, or the same one later, may answer
// where this one failed: transport failures, 429 and 503.
bool Transient(const Result<http::Response>& response) {
  if (!response) {
    Code code = response.error().code();
    return code == Code::kIo || code == Code::kUnavailable;
  }
  return response->status == 429 || response->status == 503;
}

}  // namespace

// Call tries the endpoints in turn, starting with the preferred one, and
// backs off after each round in which none answered. An idempotent call
// moves on after any transient failure; any other call only when nothing
// of it can have reached the server, so a mutation is never sent twice.
Result<Json> Client::Impl::Call(const std::string& method,
                                const std::string& target,
                                const std::string& body, bool idempotent,
                                std::string_view content_type) {
  const std::string what = method + " " + target.substr(0, target.find('?'));
  const std::size_t n = endpoints.size();
  const int rounds = std::max(1, options.retry.max_attempts);
  for (int round = 1;; ++round) {
    std::optional<int64_t> retry_after;
    const std::size_t first = preferred.load();
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t e = (first + k) % n;
      Sent sent = SendOnce(e, method, target, body, content_type, idempotent);
      const bool last = round >= rounds && k + 1 == n;
      if (!last && Transient(sent.response) && (idempotent || !sent.reached)) {
        std::size_t expected = e;
        preferred.compare_exchange_strong(expected, (e + 1) % n);
        if (auto wait = sent.response ? RetryAfterSeconds(*sent.response)
                                      : std::nullopt) {
          retry_after = std::max(retry_after.value_or(0), *wait);
        }
        continue;
      }
      if (!sent.response) return sent.response.error().WithContext(what);
      const http::Response& response = *sent.response;
      if (response.status < 200 || response.status > 299) {
        return ServerError(response, what);
      }
      preferred.store(e);
      auto doc = ResponseObject(response.body);
      if (!doc) return Malformed(what, doc.error().message());
      return doc;
    }
    options.sleep(Backoff(round, retry_after));
  }
}

Status Client::Impl::Confirmed(const std::string& method,
                               const std::string& target,
                               const std::string& body, std::string_view flag) {
  AZTP_ASSIGN_OR_RETURN(Json doc, Call(method, target, body, false));
  const Json* value = Member(doc, flag);
  if (value == nullptr || !value->is_boolean() || !value->get<bool>()) {
    return Malformed(method + " " + target,
                     "member \"" + std::string(flag) + "\" must be true");
  }
  return Ok();
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.bundles == nullptr || !options.server_id.has_value()) {
    return Error(Code::kInvalidArgument,
                 "the client needs the control plane's bundle and ID to "
                 "authenticate it (ClientOptions::SetTrustBundle)");
  }
  if (options.retry.max_attempts < 1 ||
      options.retry.initial_backoff.count() < 0 ||
      options.retry.max_backoff < options.retry.initial_backoff) {
    return Error(Code::kInvalidArgument,
                 "retry: max_attempts must be at least 1 and max_backoff at "
                 "least initial_backoff");
  }
  if (options.max_idle_connections < 0) {
    return Error(Code::kInvalidArgument,
                 "max_idle_connections must not be negative");
  }
  {
    // Checked here so that a bad key never reaches a header (whose error
    // would then be about the header, far from the cause).
    std::string_view key = options.api_key.View(InsecureSecretAccess::Get());
    for (char c : key) {
      if (c <= 0x20 || c >= 0x7f) {
        return Error(Code::kInvalidArgument,
                     "the API key must be printable ASCII without spaces");
      }
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->clock =
      options.clock != nullptr ? options.clock : &SystemClock::Default();
  if (!options.sleep) {
    options.sleep = [](std::chrono::milliseconds d) {
      std::this_thread::sleep_for(d);
    };
  }
  std::vector<std::string> urls = {options.base_url};
  urls.insert(urls.end(), options.failover_urls.begin(),
              options.failover_urls.end());
  for (const std::string& url : urls) {
    if (std::count(urls.begin(), urls.end(), url) > 1) {
      return Error(Code::kInvalidArgument,
                   "the control plane URLs must differ from each other");
    }
    Impl::Endpoint& e = impl->endpoints.emplace_back();
    e.http_options.base_url = url;
    e.http_options.bundles = options.bundles;
    e.http_options.server_id = options.server_id;
    e.http_options.credentials = options.credentials;
    e.http_options.timeout_seconds = options.timeout_seconds;
    e.http_options.clock = impl->clock;
    // The first connection object of each URL also validates the URL,
    // timeout and credentials now rather than at the first call.
    AZTP_ASSIGN_OR_RETURN(auto first, http::Client::Create(e.http_options));
    e.idle.push_back(std::move(first));
  }
  impl->rng.seed(std::random_device{}());
  impl->options = std::move(options);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

const SpiffeId& Client::server_id() const { return *impl_->options.server_id; }

Status Client::Healthz() {
  AZTP_RETURN_IF_ERROR(impl_->Call("GET", "/healthz", "", true));
  return Ok();
}

Status Client::Readyz() {
  AZTP_RETURN_IF_ERROR(impl_->Call("GET", "/readyz", "", true));
  return Ok();
}

}  // namespace aztp

// A person's chain started on egress (docs/proxy.md "A person's chain"):
// the app's credential for its user becomes a root signed by the control
// plane, obtained with the proxy's own SVID off the connection threads,
// verified like any chain addressed to the proxy, remembered for the
// transaction and extended to the target.
#include "aztp/chain/person.h"
#include "proxy/runtime_relay.h"

// GCC 12 reports -Wmismatched-new-delete on the Asio coroutine frames of
// this file, whose allocation and deallocation functions are the frame's
// own matching pair (a false positive of its inliner; clang does not).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aztp {

using proxy_runtime::ErrorJson;
using proxy_runtime::RequestParser;
using proxy_runtime::WriteJson;

awaitable<bool> Proxy::Impl::ServeLoginStart(beast::tcp_stream& client,
                                             FlatBuffer& buffer,
                                             RequestParser& p) {
  const bool keep_alive = p.get().keep_alive();
  // A Content-Length was checked against the parser's limit when the head
  // was read: the smaller limit of this route is checked here; a chunked
  // body is cut off by body_limit as it arrives.
  const bool too_long =
      p.content_length().value_or(0) > internal::kMaxLoginStartBytes;
  bhttp::request_parser<bhttp::string_body> whole(std::move(p));
  whole.body_limit(internal::kMaxLoginStartBytes);
  beast::error_code ec;
  if (!too_long) {
    co_await bhttp::async_read(client, buffer, whole,
                               asio::redirect_error(use_awaitable, ec));
  }
  if (too_long || ec) {
    co_await WriteJson(
        client, 413, ErrorJson("too_large", "a login start is at most 16 KiB"),
        false);
    co_return false;
  }
  auto start = internal::ParseLoginStart(whole.get().body(), self);
  Result<StartedLogin> started = Error(Code::kInternal, "not started");
  if (!start) {
    started = std::move(start).error();
  } else if (deps.control_plane_url.empty()) {
    started = Error(Code::kUnsupported, "this proxy has no control plane");
  } else {
    auto out = std::make_shared<std::optional<Result<StartedLogin>>>();
    auto login = std::make_shared<LoginStart>(std::move(*start));
    // (The work is named before the co_await: GCC 12 destroys a lambda's
    // captures twice when the lambda is a temporary of a co_await.)
    std::function<void()> work = [this, out, login] {
      auto cp = ControlPlaneClient();
      out->emplace(cp ? (*cp)->StartLogin(*login)
                      : Result<StartedLogin>(cp.error()));
    };
    co_await OffThread(std::move(work));
    if (*out) started = std::move(**out);
  }
  if (!started) {
    const Error& e = started.error();
    Log(LogLevel::kWarn, "login_start_refused",
        Json{{"reason", e.reason()}, {"message", e.message()}});
    co_await WriteJson(client, proxy_runtime::EgressStatus(e.code()),
                       ErrorJson(e.reason(), e.message()), false);
    co_return false;
  }
  // (Built before the co_await: GCC 12 cannot keep a braced JSON
  // initializer's literals in a coroutine frame.)
  const std::string answer =
      DumpJson(Json{{"redirect_url", started->redirect_url},
                    {"state", started->state},
                    {"expires_at", started->expires_at}});
  co_await WriteJson(client, 200, answer, keep_alive);
  co_return keep_alive;
}

awaitable<Result<Proxy::Impl::EgressPlan>> Proxy::Impl::StartFromPerson(
    const RequestHeader& req, const Settings& s, EgressPlan plan,
    AuditRecord& a, Json& details) {
  if (deps.control_plane_url.empty()) {
    co_return Error(Code::kUnsupported,
                    "this proxy has no control plane to start a person's "
                    "chain with");
  }
  std::vector<std::string> capabilities;
  if (plan.narrowed) capabilities = plan.narrowed->Strings();
  details["person_credential"] =
      plan.credential->kind == internal::PersonCredential::Kind::kLogin
          ? std::string("login")
          : std::string("id_token");
  auto out = std::make_shared<std::optional<Result<std::string>>>();
  auto credential =
      std::make_shared<internal::PersonCredential>(std::move(*plan.credential));
  plan.credential.reset();
  auto capabilities_asked =
      std::make_shared<std::vector<std::string>>(std::move(capabilities));
  // (Named before the co_await, as in ServeLoginStart.)
  std::function<void()> work = [this, out, credential, capabilities_asked] {
    auto client = ControlPlaneClient();
    out->emplace(client ? internal::StartPersonRoot(**client, *credential,
                                                    *capabilities_asked)
                        : Result<std::string>(client.error()));
  };
  co_await OffThread(std::move(work));
  if (!*out) co_return Error(Code::kUnavailable, "the proxy is stopping");
  Result<std::string> root = std::move(**out);
  if (!root) co_return std::move(root).error();
  // The root is checked as any chain addressed to this proxy (protocol §6):
  // signed by its trust domain's control plane for a person (§5.3).
  auto verified = s.person_verifier->Verify(*root);
  if (!verified) {
    co_return std::move(verified).error().WithContext(
        "the person's root from the control plane");
  }
  if (!PersonIssuer(verified->subject())) {
    co_return Error(Code::kUnvouchedSubject,
                    "the control plane's root does not act for a person");
  }
  chains.Put(*verified);
  details["person"] = verified->subject();
  const Started started{verified->txn(), verified->path().front().str()};
  co_return PrepareEgress(req, s, clock->Now(), a, details, started);
}

}  // namespace aztp

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
  // The HTTP rules of every egress request, and a JSON body: a web page
  // cannot send one without a CORS preflight, which nobody answers here.
  auto head = internal::CheckLoginStartHead(p.get());
  if (!head) {
    co_await WriteJson(client, 400,
                       ErrorJson(head.error().reason(), head.error().message()),
                       false);
    co_return false;
  }
  auto body = co_await proxy_runtime::ReadWholeBody(
      client, buffer, p, internal::kMaxLoginStartBytes,
      p.get()[bhttp::field::expect] == "100-continue");
  if (!body) {
    co_await WriteJson(
        client, 413, ErrorJson("too_large", "a login start is at most 16 KiB"),
        false);
    co_return false;
  }
  auto start = internal::ParseLoginStart(*body, self);
  Result<StartedLogin> started = Error(Code::kInternal, "not started");
  if (!start) {
    started = std::move(start).error();
  } else if (deps.control_plane_url.empty()) {
    started = Error(Code::kUnsupported, "this proxy has no control plane");
  } else {
    auto out = std::make_shared<Result<StartedLogin>>(
        Error(Code::kInternal, "the call to the control plane failed"));
    auto login = std::make_shared<LoginStart>(std::move(*start));
    // (The work is named before the co_await: GCC 12 destroys a lambda's
    // captures twice when the lambda is a temporary of a co_await.)
    std::function<void()> work = [this, out, login] {
      auto cp = ControlPlaneClient();
      *out = cp ? (*cp)->StartLogin(*login) : Result<StartedLogin>(cp.error());
    };
    co_await OffThread(std::move(work));
    started = std::move(*out);
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

awaitable<Result<Proxy::Impl::Started>> Proxy::Impl::StartFromPerson(
    const Settings& s, internal::PersonCredential credential,
    const std::optional<CapabilitySet>& narrowed, Json& details) {
  if (deps.control_plane_url.empty()) {
    co_return Error(Code::kUnsupported,
                    "this proxy has no control plane to start a person's "
                    "chain with");
  }
  details["person_credential"] =
      credential.kind == internal::PersonCredential::Kind::kLogin
          ? std::string("login")
          : std::string("id_token");
  auto shared =
      std::make_shared<internal::PersonCredential>(std::move(credential));
  auto asked = std::make_shared<std::vector<std::string>>(
      narrowed ? narrowed->Strings() : std::vector<std::string>());
  auto root = std::make_shared<Result<std::string>>(
      Error(Code::kInternal, "the call to the control plane failed"));
  // (Named before the co_await, as in ServeLoginStart.)
  std::function<void()> work = [this, root, shared, asked] {
    auto client = ControlPlaneClient();
    *root = client ? internal::StartPersonRoot(**client, *shared, *asked)
                   : Result<std::string>(client.error());
  };
  co_await OffThread(std::move(work));
  if (!*root) co_return root->error();
  // The root is checked as any chain addressed to this proxy (protocol §6):
  // signed by its trust domain's control plane for a person (§5.3).
  auto verified = s.person_verifier->Verify(**root);
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
  co_return Started{verified->txn(), verified->path().front().str()};
}

}  // namespace aztp

// HostedSdkApi: the table of the hosted routes and its dispatcher, which
// authenticates the api_access_key header, takes the request from the
// caller's rate limit and enforces the route's permission before the route
// runs, as ControlPlane::Route does for /v1.
#include "aztp/compat/hosted_sdk.h"

#include <chrono>
#include <exception>

#include "aztp/base/secret.h"
#include "hosted_routes.h"

namespace aztp::compat {

namespace hosted {

aztp::internal::RouteHandler Handler(Logic logic) {
  return [logic = std::move(logic)](RouteCall& c) -> Result<Json> {
    AZTP_ASSIGN_OR_RETURN(Answer a, logic(c));
    c.reply.status = a.status;
    return EnvelopeJson(a);
  };
}

}  // namespace hosted

namespace {

using hosted::Answer;
using hosted::Envelope;

// Unmatched answers a hosted path no route takes: OIAP stays 501 whatever
// the method (docs/compat.md), anything else is 404.
Answer Unmatched(const std::string& path) {
  const std::string route = path.substr(sizeof(kHostedPrefix) - 1);
  if (route == "oiap/evaluate") {
    return Envelope(501, false, "AZTP-API-E-501", "OIAP is not implemented",
                    Json());
  }
  return Envelope(404, false, "AZTP-API-E-404", "no such route", Json());
}

}  // namespace

HostedSdkApi::HostedSdkApi(ControlPlane& plane)
    : plane_(plane),
      backend_(
          std::make_unique<hosted::Backend>(hosted::Backend{plane.services()})),
      routes_(std::make_unique<internal::RouteTable>()) {
  hosted::AddIdentityRoutes(*routes_, *backend_);
  hosted::AddFlowRoutes(*routes_, *backend_);
  hosted::AddPolicyRoutes(*routes_, *backend_);
  hosted::AddOidcRoutes(*routes_, *backend_);
}

HostedSdkApi::~HostedSdkApi() = default;

bool HostedSdkApi::Handles(const std::string& path) {
  return path.rfind(kHostedPrefix, 0) == 0;
}

http::Response HostedSdkApi::Handle(const http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  internal::Reply reply;
  Result<Json> body = Dispatch(request, reply);
  http::Response r;
  if (body) {
    r.status = reply.status;
    r.body = DumpJson(*body);
  } else {
    const Answer failed = hosted::Failure(body.error());
    r.status = failed.status;
    r.body = DumpJson(hosted::EnvelopeJson(failed));
  }
  plane_.CountRequest(reply.route.empty() ? "unmatched" : reply.route, r.status,
                      started);
  return r;
}

Result<Json> HostedSdkApi::Dispatch(const http::Request& request,
                                    internal::Reply& reply) {
  auto answer = [&reply](const Answer& a) -> Result<Json> {
    reply.status = a.status;
    return hosted::EnvelopeJson(a);
  };
  if (!Handles(request.path)) {
    return answer(
        Envelope(404, false, "AZTP-API-E-404", "no such route", Json()));
  }
  // Only the hosted header authenticates here, never Authorization or a
  // client certificate (docs/compat.md, "Requests and answers").
  auto header = request.headers.find("api_access_key");
  if (header == request.headers.end() || header->second.empty()) {
    return answer(Envelope(401, false, "AZTP-AUTH-E-001",
                           "the api_access_key header is required", Json()));
  }
  auto match = routes_->Find(request);
  if (!match) return answer(Unmatched(request.path));
  const internal::Route& route = *match->route;
  reply.route = internal::RouteLabel(route.pattern);
  auto who = backend_->services.authenticator.Key(SecretBytes(header->second));
  AZTP_RETURN_IF_ERROR(plane_.Admit(request, who ? &*who : nullptr, reply));
  if (!who) return hosted::FromService(who.error());
  AZTP_RETURN_IF_ERROR(services::Require(*who, route.permission, route.denial));
  internal::RouteCall call{request, &*who, std::move(match->param),
                           backend_->services.context.Now(), reply};
  // The routes only read checked members, but a JSON type error must never
  // take the daemon down: answer it as an internal error.
  try {
    return route.handler(call);
  } catch (const std::exception&) {
    return answer(Envelope(500, false, "AZTP-SRV-E-001",
                           "the request could not be translated", Json()));
  }
}

}  // namespace aztp::compat

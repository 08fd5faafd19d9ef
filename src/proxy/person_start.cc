#include "proxy/person_start.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "aztp/encoding/json.h"
#include "aztp/proxy/gate.h"
#include "proxy/http_rules.h"

namespace aztp::internal {

namespace {

namespace bhttp = boost::beast::http;

// Field is the value of header `name`, or nullopt; kInvalidArgument when it
// is empty or over kMaxPersonCredentialBytes (the message never holds it).
Result<std::optional<std::string_view>> Field(
    const bhttp::request_header<>& req, std::string_view name) {
  auto it = req.find(name);
  if (it == req.end()) return std::optional<std::string_view>();
  std::string_view v = it->value();
  if (v.empty() || v.size() > kMaxPersonCredentialBytes) {
    return Error(Code::kInvalidArgument,
                 std::string(name) + " must be 1 to 16384 bytes");
  }
  return std::optional<std::string_view>(v);
}

Error Refused(const std::string& why) {
  return Error(Code::kInvalidArgument, why);
}

}  // namespace

Result<std::optional<PersonCredential>> PersonCredentialOf(
    const bhttp::request_header<>& req) {
  AZTP_ASSIGN_OR_RETURN(auto login, Field(req, kLoginHeader));
  AZTP_ASSIGN_OR_RETURN(auto state, Field(req, kLoginStateHeader));
  AZTP_ASSIGN_OR_RETURN(auto id_token, Field(req, kIdTokenHeader));
  AZTP_ASSIGN_OR_RETURN(auto provider, Field(req, kProviderHeader));
  if (!login && !id_token) {
    if (state) return Refused("Aztp-Login-State comes with Aztp-Login");
    if (provider) return Refused("Aztp-Provider comes with Aztp-Id-Token");
    return std::optional<PersonCredential>();
  }
  if (login && id_token) {
    return Refused("send Aztp-Login or Aztp-Id-Token, not both");
  }
  if (req.find(kTxnHeader) != req.end()) {
    return Refused(
        "a person's credential starts a transaction: it does not come with "
        "Aztp-Txn");
  }
  PersonCredential c;
  if (login) {
    if (!state) {
      return Refused(
          "Aztp-Login comes with Aztp-Login-State, the login's state as the "
          "app kept it");
    }
    if (provider) return Refused("Aztp-Provider comes with Aztp-Id-Token");
    c.kind = PersonCredential::Kind::kLogin;
    c.secret = SecretBytes(*login);
    c.state = std::string(*state);
  } else {
    if (state) return Refused("Aztp-Login-State comes with Aztp-Login");
    if (req.find(kCapabilitiesHeader) == req.end()) {
      return Refused(
          "Aztp-Id-Token needs Aztp-Capabilities: the concrete capabilities "
          "to ask the control plane for");
    }
    c.kind = PersonCredential::Kind::kIdToken;
    c.secret = SecretBytes(*id_token);
    if (provider) c.provider = std::string(*provider);
  }
  return std::optional<PersonCredential>(std::move(c));
}

Result<LoginStart> ParseLoginStart(std::string_view body,
                                   const SpiffeId& self) {
  JsonLimits limits;
  limits.max_bytes = kMaxLoginStartBytes;
  AZTP_ASSIGN_OR_RETURN(Json doc, ParseJson(body, limits));
  if (!doc.is_object()) {
    return Error(Code::kMalformed, "the body must be a JSON object");
  }
  for (const auto& [name, value] : doc.items()) {
    if (name != "provider" && name != "return_url" && name != "capabilities") {
      return Error(Code::kMalformed, "unknown member " + QuoteInput(name));
    }
  }
  LoginStart out{"", self, "", {}};
  AZTP_ASSIGN_OR_RETURN(out.provider, GetString(doc, "provider"));
  AZTP_ASSIGN_OR_RETURN(out.return_url, GetString(doc, "return_url"));
  if (doc.contains("capabilities")) {
    const Json& caps = doc["capabilities"];
    if (!caps.is_array() ||
        !std::all_of(caps.begin(), caps.end(),
                     [](const Json& c) { return c.is_string(); })) {
      return WrongMemberType("capabilities", "an array of strings");
    }
    out.capabilities = caps.get<std::vector<std::string>>();
  }
  return out;
}

Status CheckLoginStartHead(const bhttp::request_header<>& req) {
  AZTP_RETURN_IF_ERROR(CheckRequestHead(req, Side::kEgress));
  // The media type, any case, before parameters (RFC 9110 §8.3.1).
  std::string_view type = req[bhttp::field::content_type];
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  if (!boost::beast::iequals(type, "application/json")) {
    return Error(Code::kInvalidArgument,
                 "a login start is Content-Type: application/json");
  }
  return Ok();
}

Result<std::string> StartPersonRoot(
    Client& client, const PersonCredential& credential,
    const std::vector<std::string>& capabilities) {
  if (credential.kind == PersonCredential::Kind::kLogin) {
    AZTP_ASSIGN_OR_RETURN(
        RedeemedLogin redeemed,
        client.RedeemLogin(credential.secret, credential.state));
    if (!redeemed.root) {
      return Error(Code::kInvalidArgument,
                   "the login asked for no capabilities, so it holds no "
                   "root: start it with the capabilities the calls need");
    }
    return std::move(redeemed.root->chain);
  }
  AZTP_ASSIGN_OR_RETURN(PersonRoot root,
                        client.ExchangeIdToken(credential.secret, capabilities,
                                               credential.provider));
  return std::move(root.chain);
}

}  // namespace aztp::internal

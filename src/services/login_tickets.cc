#include "login_tickets.h"

#include <utility>
#include <vector>

#include "aztp/encoding/json.h"

namespace aztp::services::login_tickets {

// Readers of a ticket's members, shared with IdTokenPersonFromJson.
Result<bool> GetBool(const Json& doc, std::string_view name) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_boolean()) {
    return WrongMemberType(name, "a boolean");
  }
  return it->get<bool>();
}

Result<std::vector<std::string>> GetStrings(const Json& doc,
                                            std::string_view name) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_array()) {
    return WrongMemberType(name, "an array of strings");
  }
  std::vector<std::string> out;
  for (const Json& item : *it) {
    if (!item.is_string()) return WrongMemberType(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

namespace {

// kMaxBody bounds a ticket's JSON (a root chain is the largest part).
constexpr std::size_t kMaxBody = 256 << 10;

// Sealed dumps `doc` into a secret and wipes the plain copy.
SecretBytes Sealed(const Json& doc) {
  std::string text = DumpJson(doc);
  SecretBytes out{std::string_view(text)};
  internal::WipeMemory(text.data(), text.size());
  return out;
}

Result<Json> Opened(const SecretBytes& body) {
  auto doc = ParseJson(body.View(InsecureSecretAccess::Get()),
                       JsonLimits{.max_bytes = kMaxBody, .max_depth = 8});
  if (!doc || !doc->is_object()) {
    return Error(Code::kInternal, "store: a login ticket does not read back");
  }
  return doc;
}

Result<SpiffeId> GetId(const Json& doc, std::string_view name) {
  AZTP_ASSIGN_OR_RETURN(std::string text, GetString(doc, name));
  return SpiffeId::Parse(text);
}

Result<PersonRoot> RootFromJson(const Json& doc) {
  PersonRoot root;
  AZTP_ASSIGN_OR_RETURN(root.chain, GetString(doc, "chain"));
  AZTP_ASSIGN_OR_RETURN(root.subject, GetString(doc, "subject"));
  auto person = doc.find("person");
  if (person == doc.end()) return WrongMemberType("person", "an object");
  AZTP_ASSIGN_OR_RETURN(root.person, PersonClaims::FromJson(*person));
  auto caps = doc.find("capabilities");
  if (caps == doc.end()) return WrongMemberType("capabilities", "an array");
  AZTP_ASSIGN_OR_RETURN(root.capabilities, CapabilitySet::FromJson(*caps));
  AZTP_ASSIGN_OR_RETURN(root.expires_at, GetInt(doc, "expires_at"));
  return root;
}

Result<LoginResult> ResultFromJson(const Json& doc) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId agent, GetId(doc, "agent"));
  LoginResult r{std::move(agent), "", "", {}, std::nullopt};
  AZTP_ASSIGN_OR_RETURN(r.state, GetString(doc, "state"));
  AZTP_ASSIGN_OR_RETURN(r.provider, GetString(doc, "provider"));
  auto person = doc.find("person");
  if (person == doc.end()) return WrongMemberType("person", "an object");
  AZTP_ASSIGN_OR_RETURN(r.person, IdTokenPersonFromJson(*person));
  if (auto root = doc.find("root"); root != doc.end()) {
    AZTP_ASSIGN_OR_RETURN(r.root, RootFromJson(*root));
  }
  return r;
}

}  // namespace

Result<SecretBytes> EncodePending(const PendingLogin& login) {
  const LoginRequest& r = login.request;
  Json doc{{"provider", r.provider},     {"agent", r.agent.str()},
           {"return_url", r.return_url}, {"capabilities", r.capabilities},
           {"aztp_alias", r.aztp_alias}, {"nonce", login.nonce}};
  doc["code_verifier"] =
      std::string(login.code_verifier.View(InsecureSecretAccess::Get()));
  SecretBytes out = Sealed(doc);
  auto& verifier = doc["code_verifier"].get_ref<std::string&>();
  internal::WipeMemory(verifier.data(), verifier.size());
  return out;
}

namespace {

// PendingFromJson reads a pending login; the caller wipes the document.
Result<PendingLogin> PendingFromJson(const Json& doc) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId agent, GetId(doc, "agent"));
  PendingLogin out{LoginRequest{"", std::move(agent), "", {}, false}, "", {}};
  LoginRequest& r = out.request;
  AZTP_ASSIGN_OR_RETURN(r.provider, GetString(doc, "provider"));
  AZTP_ASSIGN_OR_RETURN(r.return_url, GetString(doc, "return_url"));
  AZTP_ASSIGN_OR_RETURN(r.capabilities, GetStrings(doc, "capabilities"));
  AZTP_ASSIGN_OR_RETURN(r.aztp_alias, GetBool(doc, "aztp_alias"));
  AZTP_ASSIGN_OR_RETURN(out.nonce, GetString(doc, "nonce"));
  auto verifier = doc.find("code_verifier");
  if (verifier == doc.end() || !verifier->is_string()) {
    return WrongMemberType("code_verifier", "a string");
  }
  out.code_verifier =
      SecretBytes(std::string_view(verifier->get_ref<const std::string&>()));
  return out;
}

}  // namespace

Result<PendingLogin> DecodePending(const SecretBytes& body) {
  AZTP_ASSIGN_OR_RETURN(Json doc, Opened(body));
  auto out = PendingFromJson(doc);
  if (auto it = doc.find("code_verifier"); it != doc.end() && it->is_string()) {
    auto& verifier = it->get_ref<std::string&>();
    internal::WipeMemory(verifier.data(), verifier.size());
  }
  if (!out) return out.error().WithContext("store: a login ticket");
  return out;
}

Result<SecretBytes> EncodeResult(const LoginResult& r) {
  Json doc{{"agent", r.agent.str()},
           {"state", r.state},
           {"provider", r.provider},
           {"person", IdTokenPersonJson(r.person)}};
  if (r.root) {
    doc["root"] = Json{{"chain", r.root->chain},
                       {"subject", r.root->subject},
                       {"person", r.root->person.ToJson()},
                       {"capabilities", r.root->capabilities.ToJson()},
                       {"expires_at", r.root->expires_at}};
  }
  return Sealed(doc);
}

Result<LoginResult> DecodeResult(const SecretBytes& body) {
  AZTP_ASSIGN_OR_RETURN(Json doc, Opened(body));
  auto out = ResultFromJson(doc);
  if (!out) return out.error().WithContext("store: a login result ticket");
  return out;
}

}  // namespace aztp::services::login_tickets

namespace aztp::services {

Result<IdTokenPerson> IdTokenPersonFromJson(const Json& doc) {
  using login_tickets::GetBool;
  using login_tickets::GetStrings;
  if (!doc.is_object()) return WrongMemberType("person", "an object");
  IdTokenPerson p;
  AZTP_ASSIGN_OR_RETURN(p.issuer, GetString(doc, "issuer"));
  AZTP_ASSIGN_OR_RETURN(p.subject, GetString(doc, "subject"));
  AZTP_ASSIGN_OR_RETURN(p.email, GetOptionalString(doc, "email"));
  AZTP_ASSIGN_OR_RETURN(p.email_verified, GetBool(doc, "email_verified"));
  AZTP_ASSIGN_OR_RETURN(p.name, GetOptionalString(doc, "name"));
  AZTP_ASSIGN_OR_RETURN(p.groups, GetStrings(doc, "groups"));
  AZTP_ASSIGN_OR_RETURN(p.acr, GetOptionalString(doc, "acr"));
  AZTP_ASSIGN_OR_RETURN(p.amr, GetStrings(doc, "amr"));
  AZTP_ASSIGN_OR_RETURN(p.auth_time, GetOptionalInt(doc, "auth_time"));
  return p;
}

}  // namespace aztp::services

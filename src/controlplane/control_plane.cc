#include "aztp/controlplane/control_plane.h"

#include <algorithm>
#include <set>

#include "aztp/base/bytes.h"
#include "aztp/ca/ca_dir.h"
#include "aztp/crypto/digest.h"
#include "aztp/encoding/base64.h"
#include "aztp/svid/x509_svid.h"
#include "aztp/x509/builder.h"
#include "aztp/x509/csr.h"

namespace aztp {

namespace {

constexpr std::string_view kApiKeyPrefix = "aztp_";
constexpr std::size_t kMaxRequestJson = 64 << 10;
constexpr const char* kRevocationSequence = "revocation_sequence";

Error BadRequest(std::string message) {
  return Error(Code::kInvalidArgument, std::move(message));
}

// ---- API keys: "aztp_<key_id>.<secret>", stored as salt + SHA-256 ----

std::string HashSecret(std::string_view salt_hex, std::string_view secret) {
  std::string input(salt_hex);
  input += secret;
  return HexEncode(Sha256(AsBytes(input)));
}

struct NewApiKey {
  std::string secret_text;  // the whole key, shown once
  ApiKeyRecord record;
};

Result<NewApiKey> MakeApiKey(std::string scope, std::string description,
                             UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(Bytes id, RandomBytes(8));
  AZTP_ASSIGN_OR_RETURN(Bytes secret, RandomBytes(32));
  AZTP_ASSIGN_OR_RETURN(Bytes salt, RandomBytes(16));
  NewApiKey out;
  out.record.key_id = HexEncode(id);
  out.record.salt = HexEncode(salt);
  std::string secret_b64 = Base64UrlEncode(secret);
  out.record.hash = HashSecret(out.record.salt, secret_b64);
  out.record.scope = std::move(scope);
  out.record.description = std::move(description);
  out.record.created_at = now;
  out.secret_text =
      std::string(kApiKeyPrefix) + out.record.key_id + "." + secret_b64;
  return out;
}

// ---- request helpers ----

Result<Json> BodyObject(const http::Request& req) {
  std::string type = req.Header("content-type");
  if (type.substr(0, 16) != "application/json") {
    return Error(Code::kUnsupported, "content type must be application/json");
  }
  JsonLimits limits;
  limits.max_bytes = kMaxRequestJson;
  limits.max_depth = 16;
  AZTP_ASSIGN_OR_RETURN(Json body, ParseJson(req.body, limits));
  if (!body.is_object()) {
    return Error(Code::kMalformed, "request body must be a JSON object");
  }
  return body;
}

Status OnlyMembers(const Json& body, std::initializer_list<const char*> names) {
  for (const auto& item : body.items()) {
    if (std::none_of(names.begin(), names.end(),
                     [&](const char* n) { return item.key() == n; })) {
      return Error(Code::kMalformed,
                   "unknown member " + QuoteInput(item.key()));
    }
  }
  return Ok();
}

Result<bool> OptionalBool(const Json& body, const char* name, bool fallback) {
  auto it = body.find(name);
  if (it == body.end()) return fallback;
  if (!it->is_boolean()) {
    return Error(Code::kMalformed,
                 std::string("member \"") + name + "\" must be a boolean");
  }
  return it->get<bool>();
}

Json IdentityJson(const IdentityRecord& r) {
  Json j = Json::object();
  j["id"] = r.id;
  j["parent"] = r.parent ? Json(*r.parent) : Json();
  j["global"] = r.global;
  j["discoverable"] = r.discoverable;
  j["metadata"] = r.metadata;
  j["selectors"] = r.selectors;
  j["status"] = r.status;
  if (r.status == "revoked") j["revoked_reason"] = r.revoked_reason;
  j["created_at"] = r.created_at;
  j["updated_at"] = r.updated_at;
  return j;
}

Json ApiKeyJson(const ApiKeyRecord& r) {
  return Json{{"key_id", r.key_id},
              {"scope", r.scope},
              {"description", r.description},
              {"revoked", r.revoked},
              {"created_at", r.created_at}};
}

Json ErrorJson(const Error& e) {
  return Json{{"error", std::string(e.reason())}, {"message", e.message()}};
}

AuditRecord Audit(UnixTime now, std::string actor, std::string action,
                  std::string subject, Json details = Json::object()) {
  AuditRecord a;
  a.time = now;
  a.actor = std::move(actor);
  a.action = std::move(action);
  a.subject = std::move(subject);
  a.decision = "allow";
  a.details = std::move(details);
  return a;
}

// Appended turns AppendAudit's result into a Status, keeping its error.
Status Appended(const Result<int64_t>& seq) {
  if (!seq) return seq.error();
  return Ok();
}

Result<int64_t> BumpRevocationSequence(Transaction& tx) {
  AZTP_ASSIGN_OR_RETURN(auto current, tx.GetMeta(kRevocationSequence));
  int64_t next = current.value_or(0) + 1;
  AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, next));
  return next;
}

}  // namespace

struct ControlPlane::Principal {
  std::string actor;  // for audit records
  bool admin = false;
  std::string scope_prefix;      // for scoped API keys: a SPIFFE path prefix
  std::optional<SpiffeId> svid;  // for mTLS clients

  // MayManage: may this principal act on identity `id` with an API key?
  bool MayManage(const SpiffeId& id) const {
    if (admin) return true;
    if (scope_prefix.empty()) return false;
    return id.path().substr(0, scope_prefix.size()) == scope_prefix;
  }
};

int HttpStatusFor(const Error& error) {
  switch (error.code()) {
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
      return 409;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
    case Code::kRevoked:
      return 403;
    case Code::kRateLimited:
      return 429;
    case Code::kUnavailable:
      return 503;
    case Code::kTooLarge:
      return 413;
    case Code::kUnsupported:
      return 415;
    case Code::kIo:
    case Code::kInternal:
      return 500;
    default:
      return 400;
  }
}

Result<InitResult> ControlPlane::Initialize(Store& store, const TrustDomain& td,
                                            const CaOptions& ca_options,
                                            UnixTime now) {
  AZTP_ASSIGN_OR_RETURN(CertificateAuthority ca,
                        CertificateAuthority::Create(td, ca_options, now));
  AZTP_ASSIGN_OR_RETURN(NewApiKey admin,
                        MakeApiKey("admin", "initial admin key", now));
  AZTP_ASSIGN_OR_RETURN(SecretBytes key_pem, ca.signing_key().ToPkcs8Pem());
  CaKeyRecord record;
  AZTP_ASSIGN_OR_RETURN(Bytes key_id, RandomBytes(8));
  record.key_id = HexEncode(key_id);
  record.state = "active";
  record.chain_pem = ToPem(ca.chain());
  record.key_pem = std::move(key_pem);
  record.created_at = now;
  record.not_after = ca.signing_certificate().not_after();
  AZTP_RETURN_IF_ERROR(store.Write([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto existing, tx.ListCaKeys());
    if (!existing.empty()) {
      return Error(Code::kAlreadyExists, "the store is already initialised");
    }
    AZTP_RETURN_IF_ERROR(tx.PutCaKey(record));
    AZTP_RETURN_IF_ERROR(tx.InsertApiKey(admin.record));
    AZTP_RETURN_IF_ERROR(tx.PutMeta(kRevocationSequence, 0));
    AZTP_RETURN_IF_ERROR(
        tx.AppendAudit(Audit(now, "aztpd init", "ca.create", td.IdString(),
                             Json{{"key_id", record.key_id}})));
    return Appended(
        tx.AppendAudit(Audit(now, "aztpd init", "apikey.create",
                             admin.record.key_id, Json{{"scope", "admin"}})));
  }));
  AZTP_ASSIGN_OR_RETURN(Bundle bundle, CaBundle(ca, now));
  return InitResult{std::move(admin.secret_text), std::move(bundle)};
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(
    std::shared_ptr<Store> store, ControlPlaneOptions options) {
  if (options.clock == nullptr) options.clock = &SystemClock::Default();
  std::vector<CaKeyRecord> keys;
  AZTP_RETURN_IF_ERROR(store->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(keys, tx.ListCaKeys());
    return Ok();
  }));
  auto active = std::find_if(keys.begin(), keys.end(),
                             [](const auto& k) { return k.state == "active"; });
  if (active == keys.end()) {
    return Error(Code::kNotFound,
                 "no active CA in the store (run `aztpd init` first)");
  }
  AZTP_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                        ParsePemCertificates(active->chain_pem, 8));
  auto sans = chain.back().uri_sans();
  if (sans.size() != 1) return Error(Code::kMalformed, "CA root has no ID");
  AZTP_ASSIGN_OR_RETURN(TrustDomain td, TrustDomain::Parse(sans[0]));
  AZTP_ASSIGN_OR_RETURN(PrivateKey key,
                        PrivateKey::FromPkcs8Pem(active->key_pem));
  AZTP_ASSIGN_OR_RETURN(
      CertificateAuthority ca,
      CertificateAuthority::Load(td, std::move(chain), std::move(key)));
  std::unique_ptr<ControlPlane> cp(
      new ControlPlane(std::move(store), std::move(options),
                       std::make_unique<CertificateAuthority>(std::move(ca))));
  // The server's own SVID, with DNS/IP SANs for web-PKI clients.
  UnixTime now = cp->options_.clock->Now();
  AZTP_ASSIGN_OR_RETURN(PrivateKey server_key,
                        PrivateKey::Generate(KeyType::kEcP256));
  AZTP_ASSIGN_OR_RETURN(SpiffeId server_id,
                        SpiffeId::FromSegments(td, "/aztpd"));
  CertificateTemplate t;
  t.uri_sans = {server_id.str()};
  t.dns_sans = cp->options_.server_dns_names;
  t.ip_sans = cp->options_.server_ips;
  t.ca = false;
  t.key_usage = kKuDigitalSignature;
  t.eku_server_auth = true;
  t.eku_client_auth = true;
  t.not_before = now - kBackdateSeconds;
  t.not_after = std::min(now + cp->options_.server_svid_ttl_seconds,
                         cp->ca_->signing_certificate().not_after());
  AZTP_ASSIGN_OR_RETURN(
      Certificate leaf,
      SignCertificate(t, server_key.public_key(),
                      &cp->ca_->signing_certificate(), cp->ca_->signing_key()));
  std::vector<Certificate> server_chain{leaf};
  server_chain.insert(server_chain.end(), cp->ca_->chain().begin(),
                      cp->ca_->chain().end() - 1);
  cp->server_credentials_ = std::make_shared<const TlsCredentials>(
      TlsCredentials{std::move(server_chain), std::move(server_key)});
  return cp;
}

ControlPlane::ControlPlane(std::shared_ptr<Store> store,
                           ControlPlaneOptions options,
                           std::unique_ptr<CertificateAuthority> ca)
    : store_(std::move(store)),
      options_(std::move(options)),
      ca_(std::move(ca)),
      bundles_(std::make_shared<BundleSet>()) {
  auto b = CaBundle(*ca_, ca_->root().not_before());
  if (b) bundles_->Put(std::move(*b));
}

Result<bool> ControlPlane::Maintain() { return false; }

Bundle ControlPlane::bundle() const {
  return *bundles_->GetBundle(ca_->trust_domain());
}

std::shared_ptr<const TlsCredentials> ControlPlane::server_credentials() const {
  return server_credentials_;
}

std::shared_ptr<const BundleSource> ControlPlane::bundles() const {
  return bundles_;
}

Result<ControlPlane::Principal> ControlPlane::Authenticate(
    const http::Request& req) const {
  std::string auth = req.Header("authorization");
  if (auth.empty()) {
    if (req.peer) {
      Principal p;
      p.actor = req.peer->str();
      p.svid = req.peer;
      return p;
    }
    return Error(Code::kUnauthenticated,
                 "send an API key (Authorization: Bearer) or a client SVID");
  }
  if (auth.substr(0, 7) != "Bearer ") {
    return Error(Code::kUnauthenticated, "Authorization must be Bearer");
  }
  std::string_view token = std::string_view(auth).substr(7);
  auto dot = token.find('.');
  if (token.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix ||
      dot == std::string_view::npos) {
    return Error(Code::kUnauthenticated, "malformed API key");
  }
  std::string key_id(
      token.substr(kApiKeyPrefix.size(), dot - kApiKeyPrefix.size()));
  std::string_view secret = token.substr(dot + 1);
  std::optional<ApiKeyRecord> record;
  AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(record, tx.GetApiKey(key_id));
    return Ok();
  }));
  if (!record || record->revoked ||
      !internal::ConstantTimeEquals(AsBytes(HashSecret(record->salt, secret)),
                                    AsBytes(record->hash))) {
    return Error(Code::kUnauthenticated, "unknown or revoked API key");
  }
  Principal p;
  p.actor = "apikey:" + record->key_id;
  p.admin = record->scope == "admin";
  if (!p.admin) p.scope_prefix = record->scope;
  return p;
}

http::Response ControlPlane::Handle(const http::Request& req) {
  http::Response resp;
  int status = 200;
  auto body = Route(req, status);
  if (!body) {
    resp.status = HttpStatusFor(body.error());
    resp.body = DumpJson(ErrorJson(body.error()));
  } else {
    resp.status = status;
    resp.body = DumpJson(*body);
  }
  return resp;
}

Result<Json> ControlPlane::Route(const http::Request& req, int& status) {
  const UnixTime now = options_.clock->Now();
  const std::string& path = req.path;
  const std::string& m = req.method;
  const TrustDomain& td = ca_->trust_domain();

  if (path == "/healthz" && m == "GET") return Json{{"status", "ok"}};
  if (path == "/readyz" && m == "GET") return Json{{"status", "ready"}};
  if (path == "/v1/bundle" && m == "GET") return bundle().ToJson();

  if (path == "/v1/revocations" && m == "GET") {
    Json out = Json::object();
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto seq, tx.GetMeta(kRevocationSequence));
      IdentityFilter f;
      f.status = "revoked";
      f.limit = 1000;
      Json ids = Json::array();
      Json serials = Json::array();
      for (;;) {
        AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(f));
        for (const auto& r : page) {
          ids.push_back(r.id);
          AZTP_ASSIGN_OR_RETURN(auto svids, tx.ListSvids(r.id));
          for (const auto& s : svids) {
            if (s.expires_at > now) serials.push_back(s.serial);
          }
        }
        if (page.size() < static_cast<std::size_t>(f.limit)) break;
        f.after = page.back().id;
      }
      out["sequence"] = seq.value_or(0);
      out["ids"] = std::move(ids);
      out["jtis"] = Json::array();
      out["serials"] = std::move(serials);
      return Ok();
    }));
    return out;
  }

  // Everything below needs credentials.
  const bool is_v1 = path.rfind("/v1/", 0) == 0;
  if (!is_v1) return Error(Code::kNotFound, "no such route");
  AZTP_ASSIGN_OR_RETURN(Principal who, Authenticate(req));

  // ---- API keys (admin only) ----
  if (path == "/v1/apikeys" || path.rfind("/v1/apikeys/", 0) == 0) {
    if (!who.admin) {
      return Error(Code::kPermissionDenied, "API keys need an admin key");
    }
    if (path == "/v1/apikeys" && m == "POST") {
      AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
      AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"scope", "description"}));
      AZTP_ASSIGN_OR_RETURN(std::string scope, GetString(body, "scope"));
      AZTP_ASSIGN_OR_RETURN(auto description,
                            GetOptionalString(body, "description"));
      if (scope != "admin") {
        // A path prefix of this trust domain, e.g. "/agents/".
        if (scope.empty() || scope[0] != '/' ||
            !SpiffeId::FromSegments(td, scope.back() == '/'
                                            ? scope.substr(0, scope.size() - 1)
                                            : scope)) {
          return BadRequest(
              "scope must be \"admin\" or a SPIFFE path prefix like /agents/");
        }
      }
      AZTP_ASSIGN_OR_RETURN(NewApiKey key,
                            MakeApiKey(scope, description.value_or(""), now));
      AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
        AZTP_RETURN_IF_ERROR(tx.InsertApiKey(key.record));
        return Appended(
            tx.AppendAudit(Audit(now, who.actor, "apikey.create",
                                 key.record.key_id, Json{{"scope", scope}})));
      }));
      status = 201;
      Json out = ApiKeyJson(key.record);
      out["api_key"] = key.secret_text;
      return out;
    }
    if (path == "/v1/apikeys" && m == "GET") {
      Json list = Json::array();
      AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(auto keys, tx.ListApiKeys());
        for (const auto& k : keys) list.push_back(ApiKeyJson(k));
        return Ok();
      }));
      return Json{{"api_keys", std::move(list)}};
    }
    const std::string suffix = ":revoke";
    if (m == "POST" && path.size() > suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string key_id = path.substr(12, path.size() - 12 - suffix.size());
      AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
        AZTP_RETURN_IF_ERROR(tx.RevokeApiKey(key_id));
        return Appended(
            tx.AppendAudit(Audit(now, who.actor, "apikey.revoke", key_id)));
      }));
      return Json{{"key_id", key_id}, {"revoked", true}};
    }
    return Error(Code::kNotFound, "no such route");
  }

  // ---- identities ----
  if (path == "/v1/identities" && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
    AZTP_RETURN_IF_ERROR(OnlyMembers(
        body,
        {"id", "parent", "global", "discoverable", "metadata", "selectors"}));
    AZTP_ASSIGN_OR_RETURN(std::string id_text, GetString(body, "id"));
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(id_text));
    if (!id.MemberOf(td) || !id.IsWorkload()) {
      return BadRequest(id.str() + " is not a workload ID of " + td.name());
    }
    if (!who.MayManage(id)) {
      return Error(Code::kPermissionDenied,
                   "this key may not register " + id.str());
    }
    IdentityRecord r;
    r.id = id.str();
    AZTP_ASSIGN_OR_RETURN(auto parent, GetOptionalString(body, "parent"));
    if (parent) {
      AZTP_ASSIGN_OR_RETURN(SpiffeId parent_id,
                            SpiffeId::ParseUserInput(*parent));
      r.parent = parent_id.str();
    }
    AZTP_ASSIGN_OR_RETURN(r.global, OptionalBool(body, "global", false));
    AZTP_ASSIGN_OR_RETURN(r.discoverable,
                          OptionalBool(body, "discoverable", false));
    if (auto meta = body.find("metadata"); meta != body.end()) {
      if (!meta->is_object() || DumpJson(*meta).size() > 16384) {
        return BadRequest("metadata must be an object of at most 16 KiB");
      }
      r.metadata = *meta;
    }
    if (auto sel = body.find("selectors"); sel != body.end()) {
      if (!sel->is_array() || sel->size() > 64) {
        return BadRequest("selectors must be an array of at most 64 strings");
      }
      for (const auto& s : *sel) {
        if (!s.is_string() || s.get_ref<const std::string&>().size() > 256) {
          return BadRequest("selectors must be strings of at most 256 bytes");
        }
        r.selectors.push_back(s.get<std::string>());
      }
    }
    r.created_at = r.updated_at = now;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_RETURN_IF_ERROR(tx.InsertIdentity(r));
      if (r.parent) {
        AZTP_RETURN_IF_ERROR(
            tx.InsertLink(LinkRecord{*r.parent, r.id, "parent", now}));
      }
      return Appended(
          tx.AppendAudit(Audit(now, who.actor, "identity.register", r.id)));
    }));
    status = 201;
    return IdentityJson(r);
  }

  if (path == "/v1/identities" && m == "GET") {
    IdentityFilter f;
    if (auto it = req.query.find("prefix"); it != req.query.end()) {
      f.id_prefix = it->second;
    }
    if (auto it = req.query.find("status"); it != req.query.end()) {
      f.status = it->second;
    }
    if (auto it = req.query.find("after"); it != req.query.end()) {
      f.after = it->second;
    }
    if (auto it = req.query.find("limit"); it != req.query.end()) {
      auto parsed = ParseJson(it->second);
      if (!parsed || !IsInteger(*parsed) || *parsed < 1 || *parsed > 1000) {
        return BadRequest("limit must be an integer from 1 to 1000");
      }
      f.limit = parsed->get<int>();
    }
    Json list = Json::array();
    std::string next;
    AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto page, tx.ListIdentities(f));
      for (const auto& r : page) {
        auto id = SpiffeId::Parse(r.id);
        if (id && who.MayManage(*id)) list.push_back(IdentityJson(r));
      }
      if (page.size() == static_cast<std::size_t>(f.limit)) {
        next = page.back().id;
      }
      return Ok();
    }));
    return Json{{"identities", std::move(list)},
                {"next", next.empty() ? Json() : Json(next)}};
  }

  // /v1/identities/<td>/<path>[:action]
  if (path.rfind("/v1/identities/", 0) == 0) {
    std::string rest = path.substr(15);
    std::string action;
    if (auto colon = rest.rfind(':'); colon != std::string::npos) {
      action = rest.substr(colon + 1);
      rest = rest.substr(0, colon);
    }
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::Parse("spiffe://" + rest));
    if (!who.MayManage(id)) {
      return Error(Code::kPermissionDenied,
                   "this key may not manage " + id.str());
    }
    if (m == "GET" && action.empty()) {
      std::optional<IdentityRecord> r;
      Json links = Json::array();
      AZTP_RETURN_IF_ERROR(store_->Read([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(r, tx.GetIdentity(id.str()));
        if (r) {
          AZTP_ASSIGN_OR_RETURN(auto ls, tx.ListLinks(id.str()));
          for (const auto& l : ls) {
            links.push_back(
                Json{{"from", l.from}, {"to", l.to}, {"kind", l.kind}});
          }
        }
        return Ok();
      }));
      if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
      Json out = IdentityJson(*r);
      out["links"] = std::move(links);
      return out;
    }
    if (m == "POST" && (action == "revoke" || action == "reissue")) {
      std::string reason;
      if (!req.body.empty()) {
        AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
        AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"reason"}));
        AZTP_ASSIGN_OR_RETURN(auto given, GetOptionalString(body, "reason"));
        reason = given.value_or("");
        if (reason.size() > 1024) return BadRequest("reason is too long");
      }
      IdentityRecord updated;
      AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
        AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
        if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
        r->status = action == "revoke" ? "revoked" : "active";
        r->revoked_reason = action == "revoke" ? reason : "";
        r->updated_at = now;
        AZTP_RETURN_IF_ERROR(tx.UpdateIdentity(*r));
        AZTP_ASSIGN_OR_RETURN(int64_t seq, BumpRevocationSequence(tx));
        AuditRecord a = Audit(now, who.actor, "identity." + action, id.str(),
                              Json{{"revocation_sequence", seq}});
        a.reason = reason;
        AZTP_RETURN_IF_ERROR(tx.AppendAudit(a));
        updated = *r;
        return Ok();
      }));
      return IdentityJson(updated);
    }
    return Error(Code::kNotFound, "no such route");
  }

  // ---- X.509-SVID issuance ----
  if (path == "/v1/svid/x509" && m == "POST") {
    AZTP_ASSIGN_OR_RETURN(Json body, BodyObject(req));
    AZTP_RETURN_IF_ERROR(OnlyMembers(body, {"id", "csr", "ttl"}));
    AZTP_ASSIGN_OR_RETURN(std::string id_text, GetString(body, "id"));
    AZTP_ASSIGN_OR_RETURN(SpiffeId id, SpiffeId::ParseUserInput(id_text));
    AZTP_ASSIGN_OR_RETURN(std::string csr_pem, GetString(body, "csr"));
    AZTP_ASSIGN_OR_RETURN(auto ttl, GetOptionalInt(body, "ttl"));
    int64_t ttl_seconds = ttl.value_or(options_.default_svid_ttl_seconds);
    if (ttl_seconds < 60 || ttl_seconds > options_.max_svid_ttl_seconds) {
      return BadRequest("ttl must be between 60 and " +
                        std::to_string(options_.max_svid_ttl_seconds) +
                        " seconds");
    }
    // An API key allowed for the ID, or the ID's own current SVID (renewal).
    bool allowed = who.svid ? *who.svid == id : who.MayManage(id);
    if (!allowed) {
      return Error(Code::kPermissionDenied,
                   "these credentials may not obtain an SVID for " + id.str());
    }
    AZTP_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::FromPem(csr_pem));
    std::vector<Certificate> chain;
    AZTP_RETURN_IF_ERROR(store_->Write([&](Transaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(auto r, tx.GetIdentity(id.str()));
      if (!r) return Error(Code::kNotFound, id.str() + " is not registered");
      if (r->status != "active") {
        return Error(Code::kRevoked, id.str() + " is revoked");
      }
      AZTP_ASSIGN_OR_RETURN(chain,
                            ca_->IssueFromCsr(id, csr, ttl_seconds, now));
      const Certificate& leaf = chain.front();
      AZTP_RETURN_IF_ERROR(tx.InsertSvid(
          SvidRecord{leaf.serial_hex(), id.str(), now, leaf.not_after()}));
      return Appended(tx.AppendAudit(Audit(
          now, who.actor, who.svid ? "svid.renew" : "svid.issue", id.str(),
          Json{{"serial", leaf.serial_hex()},
               {"expires_at", leaf.not_after()}})));
    }));
    status = 201;
    return Json{{"svid", ToPem(chain)},
                {"bundle", bundle().ToJson()},
                {"expires_at", chain.front().not_after()}};
  }

  return Error(Code::kNotFound, "no such route");
}

}  // namespace aztp

// aztp policy validate|test: policy documents checked and evaluated offline
// with the library; aztp policy put|get|list|attach|detach|delete: aztpd's
// stored policies through the SDK client (docs/cli.md, docs/policy.md).
#include "aztp/policy/policy.h"

#include "command.h"

namespace aztp::cli {

namespace {

// kMaxDocumentInput bounds a policy or context file; the parser's own limit
// (Policy::kMaxBytes) then gives the precise error.
constexpr std::size_t kMaxDocumentInput = 1 << 20;

Result<Policy> ReadPolicy(const std::string& source) {
  AZTP_ASSIGN_OR_RETURN(std::string text, ReadInput(source, kMaxDocumentInput));
  return ParsePolicy(text);
}

// The renderings follow aztpd's own JSON (docs/policy.md).
Json StoredPolicyJson(const StoredPolicy& p, bool with_attachments) {
  Json j = Json{{"id", p.id},
                {"name", p.name},
                {"description", p.description},
                {"version", p.version},
                {"document", p.document},
                {"created_at", p.created_at},
                {"updated_at", p.updated_at}};
  if (with_attachments) {
    Json ids = Json::array();
    for (const auto& id : p.attached_to) ids.push_back(id.str());
    j["attached_to"] = std::move(ids);
  }
  return j;
}

// ---- validate ----

Result<Json> Validate(const std::string& source) {
  AZTP_ASSIGN_OR_RETURN(Policy policy, ReadPolicy(source));
  return Json{{"valid", true}, {"canonical", policy.ToJson()}};
}

// ---- test ----

struct TestFlags {
  std::string policy;
  std::string action;
  std::string resource = "*";
  std::string context;  // JSON or @FILE
  std::vector<std::string> request_keys;
  ChainVerifyFlags verify;  // --chain, --audience, --bundle, --peer, --now
};

// ContextObject reads --context: a JSON object, inline or from @FILE.
Result<Json> ContextObject(const std::string& arg) {
  if (arg.empty()) return Json::object();
  std::string text = arg;
  if (arg.front() == '@') {
    AZTP_ASSIGN_OR_RETURN(text, ReadInput(arg.substr(1), kMaxDocumentInput));
  }
  auto doc = ParseJson(text);
  if (!doc || !doc->is_object()) {
    return Error(Code::kInvalidArgument,
                 "--context must be a JSON object (or @FILE holding one)");
  }
  return *doc;
}

// AddRequestKeys adds the --request-key KEY=VALUE arguments to `context`:
// KEY gets the prefix `request:` unless it has it; VALUE is a JSON value
// when it parses as one (250, true, ["a","b"], "\"250\""), else the string
// itself.
Status AddRequestKeys(const std::vector<std::string>& args, Json& context) {
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(Code::kInvalidArgument,
                   "--request-key must be KEY=VALUE, not " + QuoteInput(arg));
    }
    std::string key = arg.substr(0, eq);
    if (key.rfind("aztp:", 0) == 0) {
      return Error(Code::kInvalidArgument,
                   "--request-key sets request: keys; " + QuoteInput(key) +
                       " belongs in --context");
    }
    if (key.rfind("request:", 0) != 0) key = "request:" + key;
    if (context.contains(key)) {
      return Error(Code::kInvalidArgument,
                   "context key " + QuoteInput(key) + " is given twice");
    }
    std::string text = arg.substr(eq + 1);
    auto value = ParseJson(text);
    context[key] = value ? *value : Json(text);
  }
  return Ok();
}

Result<Json> Test(const TestFlags& f, Context& ctx) {
  int from_stdin =
      (f.policy == "-") + (f.verify.chain == "-") + (f.context == "@-");
  if (from_stdin > 1) {
    return Error(Code::kInvalidArgument,
                 "only one input may be read from standard input (-)");
  }
  AZTP_ASSIGN_OR_RETURN(Policy policy, ReadPolicy(f.policy));
  const UnixTime now = NowOr(f.verify.now);
  AZTP_ASSIGN_OR_RETURN(Json context, ContextObject(f.context));
  AZTP_RETURN_IF_ERROR(AddRequestKeys(f.request_keys, context));
  PolicyRequest request;
  request.action = f.action;
  request.resource = f.resource;
  AZTP_ASSIGN_OR_RETURN(request.context, ContextFromJson(context, now));
  Decision d;
  if (f.verify.chain.empty()) {
    d = Evaluate(policy, request);
  } else {
    // The chain is verified first, exactly as `aztp chain verify` does;
    // its aztp: keys then describe the call.
    AZTP_ASSIGN_OR_RETURN(SpiffeId audience,
                          SpiffeId::ParseUserInput(f.verify.audience));
    FixedClock clock(now);
    AZTP_ASSIGN_OR_RETURN(VerifiedChain chain,
                          VerifyWith(f.verify, audience, clock));
    d = AuthorizeChain(chain, {&policy}, request, now);
  }
  if (!d.allowed()) ctx.exit_code = kExitInvalid;
  return DecisionJson(d);
}

// ---- server commands ----

struct PutFlags {
  ServerFlags server;
  std::string name;
  std::optional<std::string> description;
  std::string document;
  std::string id;
  std::optional<int64_t> version;
};

Result<Json> Put(PutFlags& f) {
  AZTP_ASSIGN_OR_RETURN(Policy policy, ReadPolicy(f.document));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  std::optional<StoredPolicy> stored;
  if (f.id.empty()) {
    AZTP_ASSIGN_OR_RETURN(
        stored, client->CreatePolicy(f.name, policy,
                                     f.description.value_or(std::string())));
  } else {
    AZTP_ASSIGN_OR_RETURN(stored, client->UpdatePolicy(f.id, *f.version, policy,
                                                       f.name, f.description));
  }
  return StoredPolicyJson(*stored, false);
}

// PolicyFlags are the flags of the commands that name a policy or an
// identity: get, list, attach, detach and delete.
struct PolicyFlags {
  ServerFlags server;
  std::string id;        // the policy
  std::string identity;  // --identity
  std::optional<int64_t> version;
};

Result<Json> Get(PolicyFlags& f) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(StoredPolicy p, client->GetPolicy(f.id, f.version));
  return StoredPolicyJson(p, true);
}

Result<Json> List(PolicyFlags& f) {
  std::optional<SpiffeId> identity;
  if (!f.identity.empty()) {
    AZTP_ASSIGN_OR_RETURN(identity, SpiffeId::ParseUserInput(f.identity));
  }
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_ASSIGN_OR_RETURN(auto list, client->ListPolicies(identity));
  Json out = Json::array();
  for (const auto& p : list) out.push_back(StoredPolicyJson(p, false));
  return Json{{"policies", std::move(out)}};
}

// Attach attaches (`attach`) or detaches a policy.
Result<Json> Attach(PolicyFlags& f, bool attach) {
  AZTP_ASSIGN_OR_RETURN(SpiffeId identity,
                        SpiffeId::ParseUserInput(f.identity));
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_RETURN_IF_ERROR(attach ? client->AttachPolicy(f.id, identity)
                              : client->DetachPolicy(f.id, identity));
  return Json{{"policy", f.id},
              {"identity", identity.str()},
              {attach ? "attach" : "detach", true}};
}

Result<Json> Delete(PolicyFlags& f) {
  AZTP_ASSIGN_OR_RETURN(auto client, ClientFor(f.server));
  AZTP_RETURN_IF_ERROR(client->DeletePolicy(f.id));
  return Json{{"id", f.id}, {"deleted", true}};
}

// AddPolicyCommand adds a subcommand of PolicyFlags that takes the policy's
// ID as its argument.
CLI::App* AddPolicyCommand(CLI::App* policy, const char* name, const char* what,
                           std::shared_ptr<PolicyFlags> f) {
  auto* cmd = policy->add_subcommand(name, what);
  AddServerFlags(cmd, f->server);
  cmd->add_option("id", f->id, "the policy's ID, policy:<hex>")->required();
  return cmd;
}

void AddAttachCommand(CLI::App* policy, Context& ctx, bool attach) {
  auto f = std::make_shared<PolicyFlags>();
  auto* cmd =
      AddPolicyCommand(policy, attach ? "attach" : "detach",
                       attach ? "Attach a policy to the identity it protects"
                              : "Detach a policy from an identity",
                       f);
  cmd->add_option("--identity", f->identity, "the identity's SPIFFE ID")
      ->required();
  cmd->callback(Run(ctx, [f, attach] { return Attach(*f, attach); }));
}

// AddTestCommand adds `policy test`.
void AddTestCommand(CLI::App* policy, Context& ctx) {
  auto ft = std::make_shared<TestFlags>();
  auto* test = policy->add_subcommand(
      "test",
      "Decide a request with a policy, against a context or a verified "
      "chain; exit 1 when denied");
  test->add_option("--policy", ft->policy, "FILE with the document, or -")
      ->required();
  test->add_option("--action", ft->action, "the action, e.g. payments:refund")
      ->required();
  test->add_option("--resource", ft->resource, "the resource")
      ->capture_default_str();
  test->add_option("--request-key", ft->request_keys,
                   "KEY=VALUE: a request: key of the context (repeatable)")
      ->allow_extra_args(false);
  AddChainVerifyFlags(test, ft->verify, /*with_audience=*/true,
                      /*required=*/false);
  test->get_option("--now")->description(
      "the time of the decision, and of the chain's verification (Unix "
      "seconds; default: now)");
  auto* against = test->add_option_group(
      "context", "what the request is decided against (exactly one)");
  auto* chain = against->add_option(test->get_option("--chain"));
  against->add_option("--context", ft->context,
                      "JSON object of aztp: and request: keys, or @FILE");
  against->require_option(1);
  chain->needs(test->get_option("--audience"))
      ->needs(test->get_option("--bundle"));
  test->callback(Run(ctx, [ft, &ctx] { return Test(*ft, ctx); }));
}

}  // namespace

void AddPolicyCommands(CLI::App& app, Context& ctx) {
  auto* policy =
      app.add_subcommand("policy",
                         "Authorisation policies: checked and evaluated "
                         "offline, stored in aztpd and attached to identities")
          ->require_subcommand(1);

  auto source = std::make_shared<std::string>();
  auto* validate = policy->add_subcommand(
      "validate", "Check a policy document and print its canonical form");
  validate->add_option("file", *source, "FILE with the document, or -")
      ->required();
  validate->callback(Run(ctx, [source, &ctx] {
    ctx.validity_report = true;
    return Validate(*source);
  }));

  AddTestCommand(policy, ctx);

  auto fp = std::make_shared<PutFlags>();
  auto* put = policy->add_subcommand(
      "put", "Store a policy: a new one, or with --id the next version");
  AddServerFlags(put, fp->server);
  put->add_option("--name", fp->name, "the policy's unique name")->required();
  put->add_option("--description", fp->description,
                  "what it is for (kept when updating without it)");
  put->add_option("--document", fp->document, "FILE with the document, or -")
      ->required();
  auto* id = put->add_option("--id", fp->id, "update this policy");
  auto* version = put->add_option("--version", fp->version,
                                  "with --id: the current version, which "
                                  "the update replaces");
  id->needs(version);
  version->needs(id);
  put->callback(Run(ctx, [fp] { return Put(*fp); }));

  auto fg = std::make_shared<PolicyFlags>();
  auto* get = AddPolicyCommand(
      policy, "get", "Show a policy and the identities it is attached to", fg);
  get->add_option("--version", fg->version, "an older version");
  get->callback(Run(ctx, [fg] { return Get(*fg); }));

  auto fl = std::make_shared<PolicyFlags>();
  auto* list = policy->add_subcommand(
      "list", "List every policy, or those attached to one identity");
  AddServerFlags(list, fl->server);
  list->add_option("--identity", fl->identity,
                   "only the policies attached to this identity");
  list->callback(Run(ctx, [fl] { return List(*fl); }));

  AddAttachCommand(policy, ctx, /*attach=*/true);
  AddAttachCommand(policy, ctx, /*attach=*/false);

  auto fd = std::make_shared<PolicyFlags>();
  AddPolicyCommand(policy, "delete",
                   "Delete a policy, its versions and its attachments", fd)
      ->callback(Run(ctx, [fd] { return Delete(*fd); }));
}

}  // namespace aztp::cli

#include "aztp/spiffeid/spiffe_id.h"
#include "command.h"

namespace aztp::cli {

void AddIdCommands(CLI::App& app, Context& ctx) {
  auto* id = app.add_subcommand("id", "SPIFFE IDs")->require_subcommand(1);
  auto* parse = id->add_subcommand(
      "parse", "Parse a SPIFFE ID (spiffe:// or the aztp:// alias)");
  auto value = std::make_shared<std::string>();
  parse->add_option("ID", *value, "the ID")->required();
  parse->callback(Run(ctx, [value]() -> Result<Json> {
    AZTP_ASSIGN_OR_RETURN(SpiffeId parsed, SpiffeId::ParseUserInput(*value));
    Json out = Json::object();
    out["id"] = parsed.str();
    out["trust_domain"] = parsed.trust_domain().name();
    out["path"] = std::string(parsed.path());
    return out;
  }));
}

}  // namespace aztp::cli

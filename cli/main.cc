// aztp: the operator and scripting CLI. Machine output is one JSON object on
// stdout; see docs/cli.md for the contract.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "command.h"

namespace {

void Print(const aztp::Json& value) {
  int indent = ::isatty(STDOUT_FILENO) ? 2 : -1;
  std::cout << aztp::DumpJson(value, indent) << std::endl;
}

int PrintError(std::string_view reason, std::string_view message, int code,
               std::optional<int> hop = std::nullopt, bool validity = false) {
  aztp::Json out = aztp::Json::object();
  if (validity) out["valid"] = false;
  out["error"] = reason;
  if (hop) out["hop"] = *hop;
  out["message"] = message;
  Print(out);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aztp::cli;
  CLI::App app{
      "aztp: identities, bundles and delegation chains of the Agentic Zero "
      "Trust Protocol"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aztp 0.1.0");
  Context ctx;
  AddIdCommands(app, ctx);
  AddCaCommands(app, ctx);
  AddSvidCommands(app, ctx);
  AddBundleCommands(app, ctx);
  AddChainCommands(app, ctx);
  AddIdentityCommands(app, ctx);
  AddApiKeyCommands(app, ctx);
  AddAgentCommands(app, ctx);
  AddFederationCommands(app, ctx);
  AddPolicyCommands(app, ctx);
  AddAuditCommands(app, ctx);
  AddOidcCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return PrintError("usage", UsageMessage(app, e), kExitUsage);
  }
  if (!ctx.outcome.has_value()) {
    return PrintError("usage", "no command given", kExitUsage);
  }
  if (!ctx.outcome->has_value()) {
    const aztp::Error& error = ctx.outcome->error();
    return PrintError(error.reason(), error.message(), ExitCodeFor(error),
                      error.hop(), ctx.validity_report);
  }
  if (ctx.raw_output.has_value()) {
    std::cout << *ctx.raw_output << std::endl;
  } else {
    Print(**ctx.outcome);
  }
  return ctx.exit_code;
}

// Usage errors (exit 2, docs/cli.md): CLI11 finds them; this file names
// the word at fault and the nearest valid one, so that a typo never reads
// as a bare "A subcommand is required" or "not expected".
#include <algorithm>
#include <cctype>

#include "aztp/base/error.h"
#include "aztp/base/suggest.h"
#include "command.h"

namespace aztp::cli {

namespace {

// Commands are the named subcommands of `cmd` (option groups are unnamed
// subcommands in CLI11).
std::vector<CLI::App*> Commands(CLI::App* cmd) {
  return cmd->get_subcommands(
      [](CLI::App* sub) { return !sub->get_name().empty(); });
}

std::vector<std::string> CommandNames(CLI::App* cmd) {
  std::vector<std::string> names;
  for (CLI::App* sub : Commands(cmd)) names.push_back(sub->get_name());
  return names;
}

// FlagNames are the long flags of `cmd` and of its option groups, hidden
// ones (deprecated spellings) left out.
std::vector<std::string> FlagNames(CLI::App* cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* o : cmd->get_options()) {
    if (o->get_group().empty()) continue;
    for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
  }
  for (CLI::App* group : cmd->get_subcommands(
           [](CLI::App* sub) { return sub->get_name().empty(); })) {
    for (const std::string& name : FlagNames(group)) names.push_back(name);
  }
  return names;
}

bool LooksLikeFlag(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-' &&
         !std::isdigit(static_cast<unsigned char>(arg[1]));
}

// Deepest is the last command CLI11 recognised, and its path ("svid
// issue").
CLI::App* Deepest(CLI::App& app, std::string& path) {
  CLI::App* cmd = &app;
  while (true) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : cmd->get_subcommands()) {
      if (!sub->get_name().empty()) next = sub;
    }
    if (next == nullptr) return cmd;
    cmd = next;
    path += (path.empty() ? "" : " ") + cmd->get_name();
  }
}

std::string Quoted(const std::string& path, const std::string& word) {
  return "\"" + (path.empty() ? word : path + " " + word) + "\"";
}

std::string UnknownCommand(CLI::App* cmd, const std::string& path,
                           const std::string& word) {
  std::vector<std::string> names = CommandNames(cmd);
  std::string out = Quoted(path, word) + ": no such command";
  if (auto near = Nearest(word, names, TypoDistance(word))) {
    return out + "; did you mean \"" + *near + "\"?";
  }
  return out + "; " + (path.empty() ? "aztp" : path) + " takes " +
         JoinWords(names);
}

std::string UnknownFlag(CLI::App* cmd, const std::string& path,
                        const std::string& arg) {
  std::string flag = arg.substr(0, arg.find('='));
  std::string out = Quoted(path, flag) + ": no such flag";
  // The dashes are no part of what could be mistyped.
  const std::size_t dashes = std::min(flag.find_first_not_of('-'), flag.size());
  const std::size_t limit = TypoDistance(std::string_view(flag).substr(dashes));
  if (auto near = Nearest(flag, FlagNames(cmd), limit)) {
    return out + "; did you mean \"" + *near + "\"?";
  }
  return out + " (aztp " + path + " --help lists them)";
}

// Leftover explains arguments CLI11 could not place: an unknown command
// word, an unknown flag or a stray argument.
std::string Leftover(CLI::App* cmd, const std::string& path,
                     const std::vector<std::string>& rest) {
  if (!Commands(cmd).empty() && !LooksLikeFlag(rest.front())) {
    return UnknownCommand(cmd, path, rest.front());
  }
  for (const std::string& arg : rest) {
    if (LooksLikeFlag(arg)) return UnknownFlag(cmd, path, arg);
  }
  return Quoted(path, rest.front()) + ": unexpected argument";
}

}  // namespace

std::string UsageMessage(CLI::App& app, const CLI::ParseError& e) {
  std::string path;
  CLI::App* cmd = Deepest(app, path);
  std::vector<std::string> rest = cmd->remaining();
  if (!rest.empty()) return Leftover(cmd, path, rest);
  if (dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return e.what();
  if (!Commands(cmd).empty()) {
    return "\"" + (path.empty() ? std::string("aztp") : path) +
           "\" needs a command: " + JoinWords(CommandNames(cmd));
  }
  // "--server is required": name the environment variable that also
  // gives it.
  std::string message = e.what();
  const std::string suffix = " is required";
  if (message.size() > suffix.size() &&
      message.compare(message.size() - suffix.size(), suffix.size(), suffix) ==
          0) {
    const CLI::Option* o = cmd->get_option_no_throw(
        message.substr(0, message.size() - suffix.size()));
    if (o != nullptr && !o->get_envname().empty()) {
      return message + " (or set " + o->get_envname() + ")";
    }
  }
  return message;
}

}  // namespace aztp::cli

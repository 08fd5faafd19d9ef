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

// Parsed is the chain of commands CLI11 recognised, from `aztp` itself to
// the deepest, each with its path ("svid issue").
std::vector<std::pair<CLI::App*, std::string>> Parsed(CLI::App& app) {
  std::vector<std::pair<CLI::App*, std::string>> chain = {{&app, ""}};
  while (true) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : chain.back().first->get_subcommands()) {
      if (!sub->get_name().empty()) next = sub;
    }
    if (next == nullptr) return chain;
    const std::string& path = chain.back().second;
    chain.emplace_back(next,
                       (path.empty() ? "" : path + " ") + next->get_name());
  }
}

// Nameable: a word the message may repeat. An argument that is not a
// command or flag name may be anything the user typed, an API key
// included (`aztp $AZTP_API_KEY ...`), so it is never echoed.
bool Nameable(const std::string& word) {
  // Commands and flags are short lowercase words; API keys
  // (`aztp_<id>.<secret>`) and their secret parts are neither.
  return !word.empty() && word.size() <= 24 &&
         std::all_of(word.begin(), word.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

// Where names a command in messages: "svid issue", or "aztp" for the root.
std::string Where(const std::string& path) {
  return "\"" + (path.empty() ? std::string("aztp") : path) + "\"";
}

// HelpHint points at the command's --help.
std::string HelpHint(const std::string& path) {
  return " (aztp" + (path.empty() ? "" : " " + path) + " --help lists them)";
}

std::string Quoted(const std::string& path, const std::string& word) {
  return "\"" + (path.empty() ? word : path + " " + word) + "\"";
}

std::string UnknownCommand(CLI::App* cmd, const std::string& path,
                           const std::string& word) {
  std::vector<std::string> names = CommandNames(cmd);
  if (!Nameable(word)) {
    return Where(path) + " takes a command: " + JoinWords(names);
  }
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
  if (!Nameable(
          flag.substr(std::min(flag.find_first_not_of('-'), flag.size())))) {
    return Where(path) + ": an argument is not a flag it takes" +
           HelpHint(path);
  }
  std::string out = Quoted(path, flag) + ": no such flag";
  // The dashes are no part of what could be mistyped.
  const std::size_t dashes = std::min(flag.find_first_not_of('-'), flag.size());
  const std::size_t limit = TypoDistance(std::string_view(flag).substr(dashes));
  if (auto near = Nearest(flag, FlagNames(cmd), limit)) {
    return out + "; did you mean \"" + *near + "\"?";
  }
  return out + HelpHint(path);
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
  return Where(path) + ": unexpected argument (not shown: it may be a secret)";
}

}  // namespace

std::string UsageMessage(CLI::App& app, const CLI::ParseError& e) {
  // CLI11 keeps a stray argument on the command where it appeared, and
  // its own message repeats it: the first such command is explained here.
  const auto chain = Parsed(app);
  for (const auto& [parsed, parsed_path] : chain) {
    std::vector<std::string> rest = parsed->remaining(/*recurse=*/false);
    if (!rest.empty()) return Leftover(parsed, parsed_path, rest);
  }
  auto [cmd, path] = chain.back();
  if (dynamic_cast<const CLI::RequiredError*>(&e) == nullptr) return e.what();
  if (!Commands(cmd).empty()) {
    return Where(path) + " needs a command: " + JoinWords(CommandNames(cmd));
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

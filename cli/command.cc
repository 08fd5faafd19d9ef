#include "command.h"

#include <ctime>

#include "aztp/base/file.h"

namespace aztp::cli {

int ExitCodeFor(const Error& error) {
  switch (error.code()) {
    case Code::kIo:
    case Code::kInternal:
      return kExitIo;
    default:
      return kExitInvalid;
  }
}

Result<BundleSet> ParseBundleArgs(const std::vector<std::string>& args) {
  BundleSet set;
  for (const auto& arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos) {
      return Error(Code::kInvalidArgument,
                   "--bundle wants TRUST_DOMAIN=FILE, got \"" + arg + "\"");
    }
    AZTP_ASSIGN_OR_RETURN(TrustDomain td,
                          TrustDomain::Parse(arg.substr(0, eq)));
    if (set.GetBundle(td)) {
      return Error(Code::kInvalidArgument,
                   "--bundle given twice for " + td.name());
    }
    std::string path = arg.substr(eq + 1);
    AZTP_ASSIGN_OR_RETURN(std::string json, ReadFile(path));
    auto bundle = Bundle::Parse(td, json);
    if (!bundle) return bundle.error().WithContext(path);
    set.Put(std::move(*bundle));
  }
  return set;
}

UnixTime NowOr(const std::optional<int64_t>& now) {
  return now.has_value() ? *now : SystemClock::Default().Now();
}

std::string Rfc3339(UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  struct tm tm {};
  if (gmtime_r(&tt, &tm) == nullptr) return "";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace aztp::cli

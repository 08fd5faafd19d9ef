// Fuzz target for the address parsers (include/aztp/http/address.h), which
// read the proxy's untrusted absolute-form targets and Aztp-Target-Url as
// well as every configured address.
//
// Every input goes through ParseHostPort, ParseListenAddress, ParseUrl and
// ParseOrigin. What parses must keep the documented rules (host bytes, the
// port's range, a path of visible ASCII without '#') and read back the
// same from its canonical string; the four entry points must agree with
// one another; errors carry their documented codes and a bounded message
// without raw control bytes. Any disagreement aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/base/result.h"
#include "aztp/http/address.h"

namespace {

using aztp::Code;
using aztp::Result;
using aztp::http::HostPort;
using aztp::http::Url;

void Check(bool ok) {
  if (!ok) std::abort();
}

// CheckError: a documented code, and a message that quotes at most 64
// bytes of the input (escaped, so at most 256 characters) and the rule.
void CheckError(const aztp::Error& e, bool url) {
  Check(e.code() == Code::kInvalidArgument ||
        (url && (e.code() == Code::kMalformed || e.code() == Code::kTooLarge)));
  Check(e.message().size() <= 256 + 200);
  for (char c : e.message()) {
    const auto u = static_cast<unsigned char>(c);
    Check(u >= 0x20 && u < 0x7f);
  }
}

bool IsHostByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
}

// CheckAddress checks a parsed address and its round trip.
void CheckAddress(const HostPort& hp) {
  Check(!hp.host.empty());
  for (char c : hp.host) Check(IsHostByte(c));
  Check(hp.IsIpv6() || hp.host.size() <= 253);
  auto again = aztp::http::ParseListenAddress(hp.str());
  Check(again.has_value() && *again == hp);
}

// CheckUrl checks a parsed URL against its input `in`.
void CheckUrl(const Url& url, std::string_view in) {
  Check(url.scheme == "http" || url.scheme == "https");
  Check(in.starts_with(url.scheme + "://"));
  Check(url.address.port != 0);
  CheckAddress(url.address);
  if (!url.explicit_port) {
    Check(url.address.port == (url.scheme == "https" ? 443 : 80));
  }
  const std::string& path = url.path_and_query;
  Check(in.ends_with(path));
  Check(path.empty() || path.front() == '/');
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    Check(c != '#' && u > 0x20 && u < 0x7f);
  }
  Check(url.Target() == (path.empty() ? "/" : path));
  // The authority as written is an address ParseHostPort reads the same.
  const std::size_t start = url.scheme.size() + 3;
  const std::string_view authority =
      in.substr(start, in.size() - start - path.size());
  if (url.explicit_port) {
    auto hp = aztp::http::ParseHostPort(authority);
    Check(hp.has_value() && *hp == url.address);
  }
  // Its canonical spelling reads back the same.
  auto again = aztp::http::ParseUrl(url.scheme + "://" + url.address.str() +
                                    url.path_and_query);
  Check(again.has_value() && again->address == url.address &&
        again->path_and_query == path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto hp = aztp::http::ParseHostPort(in);
  auto listen = aztp::http::ParseListenAddress(in);
  if (hp) {
    CheckAddress(*hp);
    Check(hp->port != 0);
    // A listen address may be anything ParseHostPort reads.
    Check(listen.has_value() && *listen == *hp);
  } else {
    CheckError(hp.error(), false);
  }
  if (listen) {
    CheckAddress(*listen);
    // ... and port 0 besides.
    Check(hp.has_value() == (listen->port != 0));
  } else {
    CheckError(listen.error(), false);
  }

  auto url = aztp::http::ParseUrl(in);
  auto origin = aztp::http::ParseOrigin(in);
  if (url) {
    CheckUrl(*url, in);
  } else {
    CheckError(url.error(), true);
  }
  if (!aztp::http::HasHttpScheme(in)) Check(!url && !origin);
  // An origin is exactly a URL without a path.
  Check(origin.has_value() == (url.has_value() && url->path_and_query.empty()));
  if (origin) {
    Check(origin->address == url->address && origin->scheme == url->scheme &&
          origin->explicit_port == url->explicit_port);
  } else {
    CheckError(origin.error(), false);
  }
  return 0;
}

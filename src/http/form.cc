#include "aztp/http/form.h"

#include "aztp/base/hex.h"

namespace aztp::http {

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                            c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigit(s[i + 1]);
      const int lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += PercentEncode(name);
    out += '=';
    out += PercentEncode(value);
  }
  return out;
}

std::string WithQuery(
    std::string_view url,
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  const char separator = url.find('?') == std::string_view::npos ? '?' : '&';
  return std::string(url) + separator + FormEncode(pairs);
}

namespace {

bool SplitForm(std::string_view form, std::map<std::string, std::string>& out,
               bool unique) {
  while (!form.empty()) {
    const std::size_t amp = form.find('&');
    const std::string_view pair = form.substr(0, amp);
    form = amp == std::string_view::npos ? std::string_view()
                                         : form.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq));
    auto value =
        PercentDecode(eq == std::string_view::npos ? std::string_view()
                                                   : pair.substr(eq + 1));
    if (!name || !value) return false;
    if (unique && out.contains(*name)) return false;
    out[*name] = *value;
  }
  return true;
}

}  // namespace

bool ParseForm(std::string_view form, std::map<std::string, std::string>& out) {
  return SplitForm(form, out, /*unique=*/false);
}

bool ParseFormOnce(std::string_view form,
                   std::map<std::string, std::string>& out) {
  return SplitForm(form, out, /*unique=*/true);
}

}  // namespace aztp::http

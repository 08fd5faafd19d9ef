#include "route_table.h"

#include <cstdlib>

namespace aztp::internal {

std::string RouteLabel(std::string_view pattern) {
  std::string out(pattern.substr(0, pattern.find('?')));
  if (auto plus = out.find("+}"); plus != std::string::npos) out.erase(plus, 1);
  return out;
}

RouteTable::Compiled RouteTable::Compile(std::string_view pattern) {
  Compiled c;
  if (auto q = pattern.find('?'); q != std::string_view::npos) {
    c.query = pattern.substr(q + 1);
    pattern = pattern.substr(0, q);
  }
  const auto open = pattern.find('{');
  if (open == std::string_view::npos) {
    c.prefix = pattern;
  } else {
    const auto close = pattern.find('}', open);
    if (close == std::string_view::npos) std::abort();
    c.prefix = pattern.substr(0, open);
    c.name = pattern.substr(open + 1, close - open - 1);
    if (c.name.ends_with('+')) {
      c.slashes = true;
      c.name.remove_suffix(1);
    }
    c.suffix = pattern.substr(close + 1);
    if (c.name.empty() || c.suffix.find('{') != std::string_view::npos) {
      std::abort();
    }
  }
  if (!c.prefix.starts_with('/')) std::abort();
  c.literal = c.prefix.size() + c.suffix.size() + (c.query.empty() ? 0 : 1);
  return c;
}

std::optional<std::string> RouteTable::MatchPath(const Compiled& c,
                                                 std::string_view path) {
  if (c.name.empty()) {
    if (path != c.prefix) return std::nullopt;
    return std::string();
  }
  if (path.size() <= c.prefix.size() + c.suffix.size() ||
      !path.starts_with(c.prefix) || !path.ends_with(c.suffix)) {
    return std::nullopt;
  }
  std::string_view middle = path.substr(
      c.prefix.size(), path.size() - c.prefix.size() - c.suffix.size());
  if (!c.slashes && middle.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(middle);
}

void RouteTable::Add(Route route) {
  compiled_.push_back(Compile(route.pattern));
  routes_.push_back(std::move(route));
}

std::optional<RouteTable::Match> RouteTable::Find(
    const http::Request& request) const {
  std::optional<Match> best;
  std::size_t best_literal = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const Compiled& c = compiled_[i];
    if (routes_[i].method != request.method) continue;
    if (!c.query.empty() && request.query.count(std::string(c.query)) == 0) {
      continue;
    }
    auto param = MatchPath(c, request.path);
    if (!param) continue;
    if (!best || c.literal > best_literal) {
      best = Match{&routes_[i], std::move(*param)};
      best_literal = c.literal;
    }
  }
  return best;
}

}  // namespace aztp::internal

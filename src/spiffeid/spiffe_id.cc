#include "aztp/spiffeid/spiffe_id.h"

#include <string>
#include <string_view>
#include <utility>

namespace aztp {
namespace {

constexpr std::string_view kScheme = "spiffe://";
// kAliasScheme is the identity scheme accepted at API boundaries only.
constexpr std::string_view kAliasScheme = "aztp://";

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

// CheckPath validates `path` per SPIFFE-ID §2.2, scanning left to right so
// the first offending byte or segment decides the error.
Result<void> CheckPath(std::string_view path) {
  if (path.empty()) {
    return Ok();
  }
  if (path.front() != '/') {
    return Error(Code::kMalformed, "path must have a leading slash");
  }
  size_t segment_start = 1;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') {
      if (!IsPathChar(path[i])) {
        return Error(Code::kMalformed,
                     "path segment characters are limited to letters, "
                     "numbers, dots, dashes, and underscores");
      }
      continue;
    }
    // path[i] ends the segment that began at segment_start.
    const std::string_view segment =
        path.substr(segment_start, i - segment_start);
    if (segment.empty()) {
      return Error(Code::kMalformed,
                   i == path.size() ? "path cannot have a trailing slash"
                                    : "path cannot contain empty segments");
    }
    if (segment == "." || segment == "..") {
      return Error(Code::kMalformed, "path cannot contain dot segments");
    }
    segment_start = i + 1;
  }
  return Ok();
}

Error TooLarge(size_t size) {
  return Error(Code::kTooLarge, "SPIFFE ID is " + std::to_string(size) +
                                    " bytes, over the 2048-byte limit");
}

}  // namespace

Result<SpiffeId> SpiffeId::Parse(std::string_view id) {
  if (id.empty()) {
    return TrustDomain::Reject(Code::kMalformed, "cannot be empty", id);
  }
  if (!id.starts_with(kScheme)) {
    return TrustDomain::Reject(Code::kMalformed, "scheme is missing or invalid",
                               id);
  }
  return ParseAfterScheme(id, id.substr(kScheme.size()));
}

Result<SpiffeId> SpiffeId::ParseUserInput(std::string_view id) {
  if (id.starts_with(kAliasScheme)) {
    return ParseAfterScheme(id, id.substr(kAliasScheme.size()));
  }
  return Parse(id);
}

Result<SpiffeId> SpiffeId::ParseAfterScheme(std::string_view input,
                                            std::string_view rest) {
  const size_t size = kScheme.size() + rest.size();
  if (size > kMaxBytes) {
    const Error e = TooLarge(size);
    return TrustDomain::Reject(e.code(), e.message(), input);
  }
  const size_t slash = rest.find('/');
  const std::string_view name = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (Result<void> ok = TrustDomain::CheckName(name); !ok) {
    return TrustDomain::Reject(ok.error().code(), ok.error().message(), input);
  }
  if (Result<void> ok = CheckPath(path); !ok) {
    return TrustDomain::Reject(ok.error().code(), ok.error().message(), input);
  }
  std::string id;
  id.reserve(size);
  id += kScheme;
  id += name;
  id += path;
  return SpiffeId(std::move(id), TrustDomain(std::string(name)),
                  kScheme.size() + name.size());
}

std::string SpiffeId::alias() const {
  return "aztp://" + str().substr(std::string_view("spiffe://").size());
}

SpiffeId SpiffeId::ControlPlane(const TrustDomain& td) {
  // A fixed, valid path on a valid trust domain: this cannot fail.
  return FromSegments(td, "/aztpd").value();
}

Result<SpiffeId> SpiffeId::FromSegments(const TrustDomain& td,
                                        std::string_view path) {
  const size_t size = kScheme.size() + td.name().size() + path.size();
  if (size > kMaxBytes) {
    const Error e = TooLarge(size);
    return TrustDomain::Reject(e.code(), e.message(), path);
  }
  if (Result<void> ok = CheckPath(path); !ok) {
    return TrustDomain::Reject(ok.error().code(), ok.error().message(), path);
  }
  std::string id = td.IdString();
  id += path;
  return SpiffeId(std::move(id), td, kScheme.size() + td.name().size());
}

}  // namespace aztp

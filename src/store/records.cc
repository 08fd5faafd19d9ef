// The text of the records' closed sets: what the store keeps in its
// columns and what the API carries, the same strings.
#include <array>

#include "aztp/store/enum_text.h"
#include "aztp/store/store.h"

namespace aztp {
namespace {

using internal::EnumText;
using internal::TextOf;
using internal::ValueOf;

constexpr std::array<EnumText<IdentityRecord::Status>, 2> kIdentityStatus{{
    {IdentityRecord::Status::kActive, "active"},
    {IdentityRecord::Status::kRevoked, "revoked"},
}};
constexpr std::array<EnumText<LinkRecord::Kind>, 2> kLinkKind{{
    {LinkRecord::Kind::kLinked, "linked"},
    {LinkRecord::Kind::kParent, "parent"},
}};
constexpr std::array<EnumText<CaKeyRecord::Kind>, 2> kCaKeyKind{{
    {CaKeyRecord::Kind::kX509, "x509"},
    {CaKeyRecord::Kind::kJwt, "jwt"},
}};
constexpr std::array<EnumText<CaKeyRecord::State>, 3> kCaKeyState{{
    {CaKeyRecord::State::kPrepared, "prepared"},
    {CaKeyRecord::State::kActive, "active"},
    {CaKeyRecord::State::kRetired, "retired"},
}};
constexpr std::array<EnumText<FlowRecord::Discoverability>, 2> kFlowVisible{{
    {FlowRecord::Discoverability::kPublic, "public"},
    {FlowRecord::Discoverability::kPrivate, "private"},
}};
constexpr std::array<EnumText<FlowMemberRecord::Status>, 2> kMemberStatus{{
    {FlowMemberRecord::Status::kActive, "active"},
    {FlowMemberRecord::Status::kRevoked, "revoked"},
}};

}  // namespace

std::string_view ToString(IdentityRecord::Status v) {
  return TextOf<IdentityRecord::Status>(kIdentityStatus, v);
}
std::optional<IdentityRecord::Status> IdentityRecord::ParseStatus(
    std::string_view text) {
  return ValueOf<Status>(kIdentityStatus, text);
}

std::string_view ToString(LinkRecord::Kind v) {
  return TextOf<LinkRecord::Kind>(kLinkKind, v);
}
std::optional<LinkRecord::Kind> LinkRecord::ParseKind(std::string_view text) {
  return ValueOf<Kind>(kLinkKind, text);
}

std::string_view ToString(CaKeyRecord::Kind v) {
  return TextOf<CaKeyRecord::Kind>(kCaKeyKind, v);
}
std::optional<CaKeyRecord::Kind> CaKeyRecord::ParseKind(std::string_view text) {
  return ValueOf<Kind>(kCaKeyKind, text);
}

std::string_view ToString(CaKeyRecord::State v) {
  return TextOf<CaKeyRecord::State>(kCaKeyState, v);
}
std::optional<CaKeyRecord::State> CaKeyRecord::ParseState(
    std::string_view text) {
  return ValueOf<State>(kCaKeyState, text);
}

// The profile's names are the federation module's (one table for the
// configuration file, the API and the store).
std::string_view ToString(FederationRecord::Profile v) {
  return EndpointProfileName(v);
}
std::optional<FederationRecord::Profile> FederationRecord::ParseProfile(
    std::string_view text) {
  auto profile = ParseEndpointProfile(text);
  if (!profile) return std::nullopt;
  return *profile;
}

std::string_view ToString(FlowRecord::Discoverability v) {
  return TextOf<FlowRecord::Discoverability>(kFlowVisible, v);
}
std::optional<FlowRecord::Discoverability> FlowRecord::ParseDiscoverability(
    std::string_view text) {
  return ValueOf<Discoverability>(kFlowVisible, text);
}

std::string_view ToString(FlowMemberRecord::Status v) {
  return TextOf<FlowMemberRecord::Status>(kMemberStatus, v);
}
std::optional<FlowMemberRecord::Status> FlowMemberRecord::ParseStatus(
    std::string_view text) {
  return ValueOf<Status>(kMemberStatus, text);
}

}  // namespace aztp

// Fuzzes what the egress listener reads of a person's credential and of a
// login start (src/proxy/person_start.h), without sockets: raw bytes are
// one request as the app sends it to its proxy, parsed by Beast with the
// proxy's limits. Invariants: a credential is read only from its own
// header, whole, and never with Aztp-Txn; a refusal never quotes a
// credential; a login start that parses carries the strings it was sent.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/proxy/gate.h"
#include "aztp/spiffeid/spiffe_id.h"
#include "proxy/person_start.h"

namespace {

namespace bhttp = boost::beast::http;

void Check(bool ok, int line) {
  if (!ok) {
    std::fprintf(stderr, "proxy_person_fuzzer: check at line %d failed\n",
                 line);
    std::abort();
  }
}
#define CHECK(ok) Check((ok), __LINE__)

// Elsewhere: `value` also stands in the request line or in a field other
// than `self` (then a message quoting that says nothing of the secret).
bool Elsewhere(const bhttp::request_header<>& req, std::string_view value,
               const void* self) {
  if (req.target().find(value) != std::string_view::npos) return true;
  for (const auto& f : req) {
    if (static_cast<const void*>(&f) == self) continue;
    if (f.value().find(value) != std::string_view::npos ||
        f.name_string().find(value) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// Quotes: no refusal's message holds the first 16 bytes of a credential
// value that looks like one (base64url or a JWS: a value of words could
// share the message's own words).
void NoCredentialIn(const bhttp::request_header<>& req,
                    const std::string& message) {
  for (const auto& f : req) {
    const std::string_view name = f.name_string();
    if (!boost::beast::iequals(name, aztp::kLoginHeader) &&
        !boost::beast::iequals(name, aztp::kIdTokenHeader) &&
        !boost::beast::iequals(name, aztp::kLoginStateHeader)) {
      continue;
    }
    const std::string_view value = f.value();
    const bool token_like =
        value.size() >= 16 &&
        std::all_of(value.begin(), value.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                 c == '_' || c == '.';
        });
    if (!token_like) continue;
    const std::string_view prefix = value.substr(0, 16);
    if (Elsewhere(req, prefix, &f)) continue;
    CHECK(message.find(prefix) == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::string_body> p;
  p.eager(true);
  p.header_limit(16 << 10);
  p.body_limit(aztp::internal::kMaxLoginStartBytes);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(data, size), ec);
  if (!p.is_header_done()) return 0;
  const bhttp::request_header<>& req = p.get().base();

  auto credential = aztp::internal::PersonCredentialOf(req);
  if (!credential) {
    CHECK(credential.error().code() == aztp::Code::kInvalidArgument);
    NoCredentialIn(req, credential.error().message());
  } else if (*credential) {
    const auto& c = **credential;
    CHECK(req.find(aztp::kTxnHeader) == req.end());
    const bool login = c.kind == aztp::internal::PersonCredential::Kind::kLogin;
    auto source = req.find(login ? aztp::kLoginHeader : aztp::kIdTokenHeader);
    CHECK(source != req.end());
    CHECK(c.secret.View(aztp::InsecureSecretAccess::Get()) == source->value());
    CHECK(req.find(login ? aztp::kIdTokenHeader : aztp::kLoginHeader) ==
          req.end());
    if (login) CHECK(c.state == req[aztp::kLoginStateHeader]);
    if (!login) CHECK(req.find(aztp::kCapabilitiesHeader) != req.end());
  } else {
    CHECK(req.find(aztp::kLoginHeader) == req.end());
    CHECK(req.find(aztp::kIdTokenHeader) == req.end());
  }

  auto head = aztp::internal::CheckLoginStartHead(req);
  if (!head) NoCredentialIn(req, head.error().message());
  if (p.is_done()) {
    static const aztp::SpiffeId kSelf =
        *aztp::SpiffeId::Parse("spiffe://org-a.example/agents/planner");
    const std::string& body = p.get().body();
    auto start = aztp::internal::ParseLoginStart(body, kSelf);
    if (start) {
      CHECK(start->agent == kSelf);
      CHECK(body.find('{') != std::string::npos);
      for (const std::string& cap : start->capabilities) {
        CHECK(cap.size() <= body.size());
      }
    } else {
      CHECK(start.error().code() == aztp::Code::kMalformed ||
            start.error().code() == aztp::Code::kTooLarge);
    }
  }
  return 0;
}

// Fuzz target for the JOSE layer: the input is parsed as a compact JWS
// (verified, when it parses, against two fixed public keys), as a JWK and
// as a JWK Set. Besides memory errors it checks properties that strict
// parsing promises, and aborts when one breaks:
//   * a parsed JWS re-encodes to exactly the input (one encoding per value,
//     RFC 7515 §7.1 with strict base64url);
//   * a parsed JWK or JWK Set survives ToJson -> Parse with the same keys
//     and thumbprints (RFC 7638).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "aztp/base/bytes.h"
#include "aztp/crypto/key.h"
#include "aztp/encoding/base64.h"
#include "aztp/jose/jwk.h"
#include "aztp/jose/jws.h"

namespace {

// The example keys of RFC 8037 §A.2 (Ed25519) and RFC 7515 §A.3.1
// (P-256); the seed corpus holds their example tokens.
constexpr char kEd25519X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kP256X[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kP256Y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

const aztp::PublicKey& Ed25519Key() {
  static const aztp::PublicKey* key = new aztp::PublicKey(
      *aztp::PublicKey::FromEd25519(*aztp::Base64UrlDecode(kEd25519X)));
  return *key;
}

const aztp::PublicKey& P256Key() {
  static const aztp::PublicKey* key =
      new aztp::PublicKey(*aztp::PublicKey::FromEcCoordinates(
          aztp::KeyType::kEcP256, *aztp::Base64UrlDecode(kP256X),
          *aztp::Base64UrlDecode(kP256Y)));
  return *key;
}

void Check(bool property) {
  if (!property) std::abort();
}

void FuzzJws(std::string_view text) {
  auto jws = aztp::ParseCompact(text);
  if (!jws) return;
  Check(jws->compact() == text);
  std::string_view input = jws->signing_input();
  std::string_view payload_b64 = input.substr(input.find('.') + 1);
  Check(aztp::Base64UrlEncode(jws->payload()) == payload_b64);
  Check(std::string(input) + "." + aztp::Base64UrlEncode(jws->signature()) ==
        text);
  Check(aztp::ParseAlgorithm(jws->header().at("alg").get<std::string>())
            .has_value());
  auto ed = aztp::VerifySignature(*jws, Ed25519Key());
  auto ec = aztp::VerifySignature(*jws, P256Key());
  // The alg binding: at most one of the two keys can be allowed.
  Check(!(ed.has_value() && ec.has_value()));
  auto jwk = aztp::Jwk::FromPublicKey(Ed25519Key());
  auto via_jwk = aztp::VerifySignature(*jws, jwk);
  Check(via_jwk.has_value() == ed.has_value());
}

void FuzzJwk(std::string_view text) {
  auto jwk = aztp::Jwk::FromJson(text);
  if (!jwk) return;
  std::string thumbprint = jwk->Thumbprint();
  auto back = aztp::Jwk::Parse(jwk->ToJson());
  Check(back.has_value());
  Check(back->Thumbprint() == thumbprint);
  Check(back->public_key() == jwk->public_key());
  Check(aztp::DumpJson(back->ToJson()) == aztp::DumpJson(jwk->ToJson()));
}

void FuzzJwks(std::string_view text) {
  auto set = aztp::Jwks::FromJson(text);
  if (!set) return;
  auto back = aztp::Jwks::Parse(set->ToJson());
  Check(back.has_value());
  Check(back->keys().size() == set->keys().size());
  Check(back->skipped() == 0);
  for (size_t i = 0; i < set->keys().size(); ++i) {
    Check(back->keys()[i].Thumbprint() == set->keys()[i].Thumbprint());
    if (set->keys()[i].kid()) {
      Check(set->FindByKid(*set->keys()[i].kid()) == &set->keys()[i]);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = aztp::AsChars({data, size});
  FuzzJws(text);
  FuzzJwk(text);
  FuzzJwks(text);
  return 0;
}

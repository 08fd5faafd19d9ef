// A program of another project built against the installed SDK: a trust
// domain's CA in memory, an X.509-SVID for an agent, a root hop token it
// signs, and the chain verified by its audience. Prints {"valid": ..., ...}
// and exits 0 when everything verified.
#include <iostream>
#include <memory>

#include "aztp/ca/authority.h"
#include "aztp/chain/builder.h"
#include "aztp/chain/verifier.h"
#include "aztp/encoding/json.h"

namespace {

aztp::Result<aztp::Json> Run() {
  const aztp::UnixTime now = aztp::SystemClock::Default().Now();
  AZTP_ASSIGN_OR_RETURN(auto td, aztp::TrustDomain::Parse("example.org"));
  AZTP_ASSIGN_OR_RETURN(
      auto ca, aztp::CertificateAuthority::Create(td, aztp::CaOptions{}, now));
  AZTP_ASSIGN_OR_RETURN(auto planner,
                        aztp::SpiffeId::Parse("spiffe://example.org/planner"));
  AZTP_ASSIGN_OR_RETURN(auto tool,
                        aztp::SpiffeId::Parse("spiffe://example.org/tool"));
  AZTP_ASSIGN_OR_RETURN(auto key,
                        aztp::PrivateKey::Generate(aztp::KeyType::kEcP256));
  AZTP_ASSIGN_OR_RETURN(auto svid,
                        ca.IssueX509Svid(planner, key.public_key(), 3600, now));
  AZTP_ASSIGN_OR_RETURN(auto signer,
                        aztp::HopSigner::Create(std::move(svid), key));
  aztp::MintOptions mint;
  mint.audience = tool;
  AZTP_ASSIGN_OR_RETURN(mint.capabilities,
                        aztp::CapabilitySet::FromStrings({"tools:run"}));
  AZTP_ASSIGN_OR_RETURN(std::string header, aztp::MintChain(signer, mint, now));

  AZTP_ASSIGN_OR_RETURN(auto bundle,
                        aztp::Bundle::Create(td, {ca.root()}, {}, 1, 300));
  aztp::BundleSet bundles;
  bundles.Put(std::move(bundle));
  aztp::ChainVerifierOptions options;
  options.audience = tool;
  options.bundles = std::make_shared<aztp::BundleSet>(std::move(bundles));
  AZTP_ASSIGN_OR_RETURN(auto verifier,
                        aztp::ChainVerifier::Create(std::move(options)));
  AZTP_ASSIGN_OR_RETURN(auto chain, verifier->Verify(header));
  return aztp::Json{{"valid", true},
                    {"subject", chain.subject()},
                    {"capabilities", chain.capabilities().Strings()}};
}

}  // namespace

int main() {
  auto result = Run();
  if (!result) {
    std::cout << aztp::DumpJson(
                     aztp::Json{{"valid", false},
                                {"error", result.error().reason()},
                                {"message", result.error().message()}})
              << "\n";
    return 1;
  }
  std::cout << aztp::DumpJson(*result) << "\n";
  return 0;
}

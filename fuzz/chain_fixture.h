// Fixed trust for the chain verifier fuzz target: two trust domains made
// once with `aztp ca init` (org-a: P-256, org-b: Ed25519 with an
// intermediate), and the time at which the committed corpus chains
// (fuzz/corpus/chain/) were minted. Public certificates only.
#pragma once

#include <cstdint>

namespace aztp::fuzzing {

inline constexpr int64_t kChainFuzzNow = 1795881687;
inline constexpr const char* kChainFuzzAudience =
    "spiffe://org-a.example/payments";
inline constexpr const char* kChainFuzzBundles =
    R"bundles({"trust_domains":{"org-a.example":{"keys":[{"crv":"P-256","kty":"EC","x":"GHEaMr_kfrYVUdTPqSMaMBOSu8y9LzNYNYaq2yo7mD4","y":"08TY53vKXWuroXqQfmOcdvloaESnnM92_l8_OX1dP2U","use":"x509-svid","x5c":["MIIBwTCCAWegAwIBAgIQd5VdYHVUOUR5GIYz/AOsLTAKBggqhkjOPQQDAjAvMQ0wCwYDVQQKDARhenRwMR4wHAYDVQQDDBVhenRwIHJvb3QgQ0EgZTdjOWI4Y2EwHhcNMjYxMTI4MTU1MDUwWhcNMzYxMTI1MTU1MTIwWjAvMQ0wCwYDVQQKDARhenRwMR4wHAYDVQQDDBVhenRwIHJvb3QgQ0EgZTdjOWI4Y2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQYcRoyv+R+thVR1M+pIxowE5K7zL0vM1g1hqrbKjuYPtPE2Od7yl1rq6F6kH5jnHb5aGhEp5zPdv5fPzl9XT9lo2UwYzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUC4d4+tAUXbCaVOoUic7CMCNahm4wIQYDVR0RBBowGIYWc3BpZmZlOi8vb3JnLWEuZXhhbXBsZTAKBggqhkjOPQQDAgNIADBFAiEAlu1XF/+jqvqydSi9PUnjatDNYVnBQ/AonP+ZOgGR86MCID0g16KiwtGALNVStNWS+Ny0JV8djssNJUH7GcRRXi/s"]}],"spiffe_sequence":1795881080},"org-b.example":{"keys":[{"crv":"Ed25519","kty":"OKP","x":"EXlaAWaRl1l4wOwR2vMAwo4gDS6LSy1qMb31HgrwCFA","use":"x509-svid","x5c":["MIIBgTCCATOgAwIBAgIQafv9aNFRRqWLioGCvX2U4DAFBgMrZXAwLzENMAsGA1UECgwEYXp0cDEeMBwGA1UEAwwVYXp0cCByb290IENBIDdiNGE1MWU0MB4XDTI2MTEyODE1NTA1MFoXDTM2MTEyNTE1NTEyMFowLzENMAsGA1UECgwEYXp0cDEeMBwGA1UEAwwVYXp0cCByb290IENBIDdiNGE1MWU0MCowBQYDK2VwAyEAEXlaAWaRl1l4wOwR2vMAwo4gDS6LSy1qMb31HgrwCFCjZTBjMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBSgptul+LoxELnnNqpgzfn7iIlClTAhBgNVHREEGjAYhhZzcGlmZmU6Ly9vcmctYi5leGFtcGxlMAUGAytlcANBAG7ZwjGwT2nJgwp4QYq+J/g0+NJ6xseIam+nChl1ahWU+nIAHOzdoY8Ya62YREBofP96mRR4xkEF0VjmoelTIwY="]}],"spiffe_sequence":1795881080}}})bundles";

}  // namespace aztp::fuzzing

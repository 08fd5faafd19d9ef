// The same-run baseline every aztp benchmark is compared with: raw OpenSSL
// signature verifications per second of one algorithm, with a pre-parsed
// key, over a message of a given size. Ratios against it stay meaningful on
// shared, noisy machines.
#pragma once

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "aztp/crypto/key.h"

namespace aztp::bench {

// CallsPerSecond runs `call` in batches of 100 for at least `min_seconds`.
template <typename Fn>
double CallsPerSecond(Fn call, double min_seconds) {
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  long n = 0;
  while (elapsed < min_seconds) {
    for (int i = 0; i < 100; ++i, ++n) call();
    elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  return static_cast<double>(n) / elapsed;
}

inline const EVP_MD* DigestFor(KeyType type) {
  return type == KeyType::kEcP384    ? EVP_sha384()
         : type == KeyType::kEd25519 ? nullptr
                                     : EVP_sha256();
}

// RawVerifyRate measures EVP_DigestVerify calls per second for a key of
// `type` over `message_size` bytes, for at least `min_seconds`.
inline double RawVerifyRate(KeyType type, std::size_t message_size,
                            double min_seconds = 0.3) {
  auto key = PrivateKey::Generate(type);
  if (!key) std::abort();
  const EVP_MD* md = DigestFor(type);
  std::vector<unsigned char> msg(message_size, 'm');
  std::vector<unsigned char> sig(512);
  size_t sig_len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, key->evp()) != 1 ||
      EVP_DigestSign(ctx, sig.data(), &sig_len, msg.data(), msg.size()) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY* pub = key->public_key().evp();
  return CallsPerSecond(
      [&] {
        EVP_MD_CTX* v = EVP_MD_CTX_new();
        if (EVP_DigestVerifyInit(v, nullptr, md, nullptr, pub) != 1 ||
            EVP_DigestVerify(v, sig.data(), sig_len, msg.data(), msg.size()) !=
                1) {
          std::abort();
        }
        EVP_MD_CTX_free(v);
      },
      min_seconds);
}

// RawSignRate measures EVP_DigestSign calls per second for a key of `type`
// over `message_size` bytes: the floor under any issuance rate, since every
// SVID costs at least one signature.
inline double RawSignRate(KeyType type, std::size_t message_size,
                          double min_seconds = 0.3) {
  auto key = PrivateKey::Generate(type);
  if (!key) std::abort();
  const EVP_MD* md = DigestFor(type);
  std::vector<unsigned char> msg(message_size, 'm');
  std::vector<unsigned char> sig(512);
  return CallsPerSecond(
      [&] {
        size_t sig_len = sig.size();
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, key->evp()) != 1 ||
            EVP_DigestSign(ctx, sig.data(), &sig_len, msg.data(), msg.size()) !=
                1) {
          std::abort();
        }
        EVP_MD_CTX_free(ctx);
      },
      min_seconds);
}

// ReportAgainst sets the counters every ratio benchmark reports: the rate
// of `units_per_iteration` units since `start` (counter `rate_name`), the
// baseline, and their ratio.
inline void ReportAgainst(benchmark::State& state,
                          std::chrono::steady_clock::time_point start,
                          double baseline, const char* rate_name,
                          double units_per_iteration = 1,
                          const char* baseline_name = "raw_verify_per_s") {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  double rate =
      static_cast<double>(state.iterations()) * units_per_iteration / seconds;
  state.counters[rate_name] = rate;
  state.counters[baseline_name] = baseline;
  state.counters["ratio"] = rate / baseline;
}

}  // namespace aztp::bench

// SecretBytes: private key material and other secrets.
//
// The storage is wiped (OPENSSL_cleanse) whenever it is released. There is no
// operator<<, no ToString and no implicit conversion: reading the bytes takes
// `InsecureSecretAccess::Get()`, so every raw access shows up in a grep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace aztp {

namespace internal {
// WipeMemory overwrites `n` bytes at `p` in a way the compiler keeps.
void WipeMemory(void* p, std::size_t n);
// ConstantTimeEquals compares two byte strings without data-dependent timing
// (the lengths are public).
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) {
    WipeMemory(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const {
    return true;
  }
};
}  // namespace internal

// InsecureSecretAccess is the token that unlocks the bytes of a secret.
class InsecureSecretAccess {
 public:
  static InsecureSecretAccess Get() { return InsecureSecretAccess(); }

 private:
  InsecureSecretAccess() = default;
};

// SecretBytes owns secret bytes and wipes them on release. Copyable (each
// copy wipes itself) and movable.
class SecretBytes {
 public:
  SecretBytes() = default;
  SecretBytes(std::span<const uint8_t> bytes)
      : data_(bytes.begin(), bytes.end()) {}
  explicit SecretBytes(std::string_view bytes)
      : data_(bytes.begin(), bytes.end()) {}

  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  // Bytes returns the secret; `InsecureSecretAccess` marks each use.
  std::span<const uint8_t> Bytes(InsecureSecretAccess) const {
    return {data_.data(), data_.size()};
  }
  // View returns the secret as characters (e.g. a PEM document).
  std::string_view View(InsecureSecretAccess) const {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }

  // operator== compares in constant time.
  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    return internal::ConstantTimeEquals({a.data_.data(), a.data_.size()},
                                        {b.data_.data(), b.data_.size()});
  }

 private:
  std::vector<uint8_t, internal::WipingAllocator<uint8_t>> data_;
};

}  // namespace aztp

// EnumText: the text of a closed set's values, as the records store them
// and the wire carries them. One table per enum serves both directions, so
// that ToString and Parse… cannot disagree.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace aztp::internal {

template <typename E>
struct EnumText {
  E value;
  std::string_view text;
};

// TextOf returns the text of `value` ("" for a value not in `table`, which
// a cast from an integer can make).
template <typename E>
constexpr std::string_view TextOf(std::span<const EnumText<E>> table, E value) {
  for (const EnumText<E>& e : table) {
    if (e.value == value) return e.text;
  }
  return {};
}

// ValueOf returns the value whose text is exactly `text`.
template <typename E>
constexpr std::optional<E> ValueOf(std::span<const EnumText<E>> table,
                                   std::string_view text) {
  for (const EnumText<E>& e : table) {
    if (e.text == text) return e.value;
  }
  return std::nullopt;
}

}  // namespace aztp::internal

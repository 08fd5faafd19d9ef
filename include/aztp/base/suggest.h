// Suggestions for mistyped words: the command-line and the audit filters
// name the nearest valid word ("did you mean ...?") instead of failing
// with a bare "unknown".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aztp {

// EditDistance is the number of single-byte insertions, deletions,
// substitutions and swaps of two adjacent bytes that turn `a` into `b`
// (the optimal string alignment distance: "verfy" is 1 from "verify",
// "verfiy" 1 too).
std::size_t EditDistance(std::string_view a, std::string_view b);

// Nearest returns the candidate closest to `word` by EditDistance (the
// first of equals, in the order given) when it is at most `max_distance`
// away, else nullopt.
std::optional<std::string> Nearest(std::string_view word,
                                   const std::vector<std::string>& candidates,
                                   std::size_t max_distance);

// TypoDistance is the largest distance at which a word of `word`'s length
// is still taken for a typo of another: one edit in three bytes, at least
// one. Beyond it, suggestions would be guesses.
std::size_t TypoDistance(std::string_view word);

// JoinWords writes `words` as `a, b or c` (`a` alone; empty for none).
std::string JoinWords(const std::vector<std::string>& words);

}  // namespace aztp

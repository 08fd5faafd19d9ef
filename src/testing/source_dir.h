// Test support: where the source tree is, for tests that read its data
// (vectors, example configurations, docs). Tests read such data only from the
// source tree, never from outside it: a fresh clone must pass on its own.
#pragma once

namespace aztp::test_support {

// SourceDir is the absolute path of the source tree this build was
// configured from, without a trailing slash.
const char* SourceDir();

}  // namespace aztp::test_support

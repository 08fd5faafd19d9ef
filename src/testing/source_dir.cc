#include "testing/source_dir.h"

// AZTP_SOURCE_DIR is defined for this file alone (CMakeLists.txt): a
// definition on every test would put the checkout's absolute path on every
// compile line, and ccache could not share their objects between checkouts.
namespace aztp::test_support {

const char* SourceDir() { return AZTP_SOURCE_DIR; }

}  // namespace aztp::test_support

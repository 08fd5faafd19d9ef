#include "testing/key_types.h"

#include <algorithm>

namespace aztp::testing {

std::string KeyTypeTestName(const ::testing::TestParamInfo<KeyType>& info) {
  std::string name(KeyTypeName(info.param));
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

}  // namespace aztp::testing

#include "aztp/base/result.h"

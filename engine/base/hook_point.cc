// The release definition of HookPoint: nothing happens. Weak, so that a test
// binary's strata::test_hooks (an object library, linked before any archive)
// replaces it; kept in its own file so no caller can inline it away.
#include "engine/base/hook_point.h"

namespace strata {

__attribute__((weak)) void HookPoint(const char* /*name*/) {}

}  // namespace strata

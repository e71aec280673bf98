// Names the calling thread, so `top -H`, `ps -L`, perf and gdb tell the
// log's writer, projection workers and the server's threads apart.
#ifndef STRATA_ENGINE_BASE_THREAD_NAME_H_
#define STRATA_ENGINE_BASE_THREAD_NAME_H_

#include "absl/strings/string_view.h"

namespace strata {

// Linux keeps the first 15 bytes of `name`; elsewhere this does nothing.
void SetThreadName(absl::string_view name);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_THREAD_NAME_H_

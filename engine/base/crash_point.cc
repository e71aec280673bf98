#include "engine/base/crash_point.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace strata {
namespace {

struct Armed {
  std::string name;
  long long due = 1;
  std::atomic<long long> hits{0};
};

Armed* Load() {
  const char* spec = std::getenv("STRATA_CRASH_POINT");
  if (spec == nullptr || *spec == '\0') return nullptr;
  auto* armed = new Armed();  // lives for the process
  const char* at = std::strchr(spec, '@');
  if (at == nullptr) {
    armed->name = spec;
  } else {
    armed->name.assign(spec, at - spec);
    armed->due = std::max(1LL, std::atoll(at + 1));
  }
  return armed;
}

}  // namespace

void CrashPoint(const char* name) {
  static Armed* const armed = Load();
  if (armed == nullptr || armed->name != name) return;
  if (armed->hits.fetch_add(1) + 1 >= armed->due) _exit(kCrashPointExitCode);
}

}  // namespace strata

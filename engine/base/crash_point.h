// Crash points: named places in the append, projection and recovery paths
// where a test can make the process die at once, as kill -9 or a power cut
// would, to prove recovery from exactly that moment.
//
// Off unless the environment variable STRATA_CRASH_POINT is set (read once):
//   STRATA_CRASH_POINT=<name>       exit at the first hit of <name>
//   STRATA_CRASH_POINT=<name>@<n>   exit at the n-th hit (1-based)
// The process then calls _exit(kCrashPointExitCode) without running any
// destructor or flushing anything. Thread-safe; the check when off is one
// relaxed atomic load.
#ifndef STRATA_ENGINE_BASE_CRASH_POINT_H_
#define STRATA_ENGINE_BASE_CRASH_POINT_H_

#include <array>

namespace strata {

inline constexpr int kCrashPointExitCode = 86;

// Every point, so a test can require each to be reached.
inline constexpr std::array<const char*, 7> kCrashPoints = {
    "append.before_write",          // positions assigned, batch not yet written
    "append.after_write",           // batch synced, nothing acknowledged yet
    "append.after_ack",             // the group's callbacks have run
    "projection.before_commit",     // events applied in memory, batch not written
    "projection.after_commit",      // state + checkpoint written
    "projection.cutover.after_catalog",  // new generation live, old one not dropped
    "recovery.after_open",          // log reopened, writer not started
};

// Exits the process when `name` is the armed point and its hit count is due.
void CrashPoint(const char* name);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_CRASH_POINT_H_

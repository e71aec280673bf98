// Hook points: named places in the append, projection and recovery paths
// where a test can act (die at once as kill -9 would, count writes) to prove
// recovery from exactly that moment.
//
// A release binary links the engine's own definition of HookPoint, an empty
// function: no variable, no environment lookup, nothing to arm. A test binary
// links the strong definition in tests/testutil/test_hooks.cc (target
// strata::test_hooks), which overrides it; see that header for how tests arm
// a point (STRATA_CRASH_POINT=<name>[@n] or a callback). The points:
//   append.before_write          positions assigned, batch not yet written
//   append.after_write           batch synced, nothing acknowledged yet
//   append.after_ack             the group's callbacks have run
//   projection.before_commit     events applied in memory, batch not written
//   projection.after_commit      state + checkpoint written
//   projection.cutover.after_catalog  new generation live, old one not dropped
//   recovery.after_open          log reopened, writer not started
#ifndef STRATA_ENGINE_BASE_HOOK_POINT_H_
#define STRATA_ENGINE_BASE_HOOK_POINT_H_

namespace strata {

// Called at each named point; `name` is a string literal.
void HookPoint(const char* name);

}  // namespace strata

#endif  // STRATA_ENGINE_BASE_HOOK_POINT_H_

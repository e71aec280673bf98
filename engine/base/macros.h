// Status helpers shared by every Strata component. Abseil 20220623 has no
// ABSL_RETURN_IF_ERROR, so these fill the gap. Header-only, thread-safe.
#ifndef STRATA_ENGINE_BASE_MACROS_H_
#define STRATA_ENGINE_BASE_MACROS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STRATA_CONCAT_INNER_(a, b) a##b
#define STRATA_CONCAT_(a, b) STRATA_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define STRATA_RETURN_IF_ERROR(expr)                       \
  do {                                                     \
    ::absl::Status strata_status_ = (expr);                \
    if (!strata_status_.ok()) return strata_status_;       \
  } while (0)

// `lhs = value of rexpr` (an absl::StatusOr<T>), or returns its status.
#define STRATA_ASSIGN_OR_RETURN(lhs, rexpr) \
  STRATA_ASSIGN_OR_RETURN_IMPL_(STRATA_CONCAT_(strata_statusor_, __LINE__), lhs, rexpr)
#define STRATA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(*statusor)

// Checks an internal invariant in every build type (never used on input).
#define STRATA_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: STRATA_CHECK failed: %s\n", __FILE__,     \
                   __LINE__, #cond);                                         \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

#endif  // STRATA_ENGINE_BASE_MACROS_H_

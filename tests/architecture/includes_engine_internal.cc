// Negative control of the compiler's half of the module check (see
// tests/architecture/CMakeLists.txt): a file outside the engine that includes
// an engine/internal/ header without strata::engine_internals must not compile.
#include "engine/internal/codec.h"

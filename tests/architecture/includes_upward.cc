// Negative control of the module include directories (see this directory's
// CMakeLists.txt): compiled as an engine source, an include of a module above
// the engine must not resolve.
#include "projections/projection.h"

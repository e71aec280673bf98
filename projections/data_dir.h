// The layout of a Strata data directory, in one place for the server and the
// CLI: <data_dir>/log holds the event log (engine/FORMAT.md),
// <data_dir>/projections the projection store (projections/FORMAT.md).
#ifndef STRATA_PROJECTIONS_DATA_DIR_H_
#define STRATA_PROJECTIONS_DATA_DIR_H_

#include <string>

namespace strata {

inline std::string LogDir(const std::string& data_dir) { return data_dir + "/log"; }
inline std::string ProjectionsDir(const std::string& data_dir) {
  return data_dir + "/projections";
}

}  // namespace strata

#endif  // STRATA_PROJECTIONS_DATA_DIR_H_

// stratad_power_cut: stratad (the same main, flags and stores) over a lossy
// FaultFileSystem (tests/reliability/fault_env.h). Every byte RocksDB has not
// synced lives only in this process's memory, so kill -9 of this process
// loses exactly what a power cut would lose, in the log and in the read
// models alike. A test-only binary: never installed, never run on real data.
#include <cstdio>

#include "server/stratad_main.h"
#include "tests/reliability/fault_env.h"

int main(int argc, char** argv) {
  strata::testing::FaultEnv fault_env;  // outlives the stores (destroyed after StratadMain)
  fault_env.fs().SetLossy(true);
  std::fprintf(stderr,
               "strata: TEST BUILD: unsynced writes are held in memory (simulated power cut "
               "on kill -9)\n");
  return strata::server::StratadMain(argc, argv, fault_env.env());
}

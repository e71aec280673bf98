// The body of stratad's main(), so that a test build of the server can run
// the same program over a fault-injecting RocksDB environment
// (tests/reliability/stratad_power_cut.cc). The released stratad passes no
// environment.
#ifndef STRATA_SERVER_STRATAD_MAIN_H_
#define STRATA_SERVER_STRATAD_MAIN_H_

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace strata::server {

// Parses stratad's flags, serves until SIGINT or SIGTERM, and returns the
// process exit code. `env`, when not null, is used by both stores and must
// outlive the call.
int StratadMain(int argc, char** argv, rocksdb::Env* env = nullptr);

}  // namespace strata::server

#endif  // STRATA_SERVER_STRATAD_MAIN_H_

// strata.v1.Admin: operations on the running server as a whole. Backup writes
// a consistent copy of both stores (RocksDB checkpoints) to a new directory on
// the server's machine, which is a data directory: stratad --data_dir DIR
// restores it. Runs on the BlockingExecutor. Thread-safe.
#ifndef STRATA_SERVER_ADMIN_SERVICE_H_
#define STRATA_SERVER_ADMIN_SERVICE_H_

#include <filesystem>
#include <memory>
#include <string>

#include "engine/base/logger.h"
#include "engine/event_log.h"
#include "projections/runtime/runtime.h"
#include "schemas/strata.pb.h"
#include "server/rpc_service.h"

namespace strata::server {

class AdminService final : public RpcService {
 public:
  // `data_dir`: the server's, which a backup may not be written into.
  AdminService(EventLog* log, ProjectionRuntime* runtime, std::string data_dir,
               std::shared_ptr<Logger> logger, BlockingExecutor* executor);

  grpc::Status Backup(grpc::CallbackServerContext* context,
                      const strata::v1::BackupRequest* request,
                      strata::v1::BackupResponse* response);

 private:
  grpc::Status CheckOutside(const std::filesystem::path& dir) const;

  EventLog* log_;
  ProjectionRuntime* runtime_;
  std::string data_dir_;
  std::shared_ptr<Logger> logger_;
};

}  // namespace strata::server

#endif  // STRATA_SERVER_ADMIN_SERVICE_H_

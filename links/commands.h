// The link analytics domain's commands: each validates its input, turns a
// request_id into a stable event id (so a retried command is the same event
// and the log's idempotency returns the original result), appends one event
// with the domain's expected version, and says what failed in the domain's
// words ("link 'x' already exists"). The server translates protobuf to these
// and back; nothing here knows gRPC.
//
// Thread-safety: thread-safe; `done` runs on the log's writer thread, or on
// the calling thread when the command is refused before the append.
#ifndef STRATA_LINKS_COMMANDS_H_
#define STRATA_LINKS_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/event_log.h"

namespace strata::links {

inline constexpr size_t kRequestIdBytesMax = 128;

struct CommandResult {
  GlobalPosition position = 0;  // where the event is
  StreamVersion version = 0;    // its stream's version after the command
};
using CommandDone = std::function<void(absl::StatusOr<CommandResult>)>;

struct CreateLink {
  std::string link_id;
  std::string destination;
  std::string owner;
  std::string request_id;  // empty: not retry-safe
};

struct RecordClick {
  std::string link_id;
  std::string country;
  // The device's name, or why the request has none (the caller's words).
  absl::StatusOr<std::string> device;
  std::optional<int64_t> clicked_at_us;  // none: the click counts at recorded_at
  std::string request_id;
};

struct UpdateDestination {
  std::string link_id;
  std::string destination;
  std::optional<StreamVersion> expected_version;  // none: the link must exist
  std::string request_id;
};

class Commands {
 public:
  // `log` outlives this; `now_us` is the clock (microseconds since the epoch).
  Commands(EventLog* log, std::function<int64_t()> now_us);

  // AlreadyExists for an existing link.
  void Handle(const CreateLink& command, CommandDone done) const;
  // NotFound for an unknown link; InvalidArgument for a click more than five
  // minutes in the future or before 1970.
  void Handle(const RecordClick& command, CommandDone done) const;
  // NotFound for an unknown link; Aborted naming the link when the expected
  // version does not hold.
  void Handle(const UpdateDestination& command, CommandDone done) const;

 private:
  EventLog* log_;
  std::function<int64_t()> now_us_;
};

// The event id a command with a non-empty `request_id` appends: a UUID
// (version 8) determined by the command, the link and the request id.
EventId RequestEventId(absl::string_view command, absl::string_view link_id,
                       absl::string_view request_id);

}  // namespace strata::links

#endif  // STRATA_LINKS_COMMANDS_H_

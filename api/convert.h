// Conversions between the API's messages and the engine's types, with the
// request validation that belongs to the API layer. Thread-safe (pure).
#ifndef STRATA_API_CONVERT_H_
#define STRATA_API_CONVERT_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engine/event_log.h"
#include "schemas/strata.pb.h"

namespace strata::api {

void ToProto(const RecordedEvent& in, strata::v1::RecordedEvent* out);
void ToProto(RecordedEvent&& in, strata::v1::RecordedEvent* out);  // moves the strings
void ToProto(const EventView& in, strata::v1::RecordedEvent* out);
// The API's event as the engine's (a client reading the log). InvalidArgument
// for a malformed event id.
absl::StatusOr<RecordedEvent> FromProto(const strata::v1::RecordedEvent& in);

// InvalidArgument naming the field for a missing or unknown kind.
absl::StatusOr<ExpectedVersion> FromProto(const strata::v1::ExpectedVersion& in);
// InvalidArgument naming events[i].event_id for a malformed UUID.
absl::StatusOr<std::vector<NewEvent>> FromProto(
    const google::protobuf::RepeatedPtrField<strata::v1::ProposedEvent>& in);
ReadFilter FromProto(const strata::v1::Filter& in);

}  // namespace strata::api

#endif  // STRATA_API_CONVERT_H_

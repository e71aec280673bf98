// The conversions of convert.h: engine events to strata.v1.RecordedEvent and
// back, and expected versions, proposed events and read filters from the API.
#include "api/convert.h"

#include "absl/strings/str_cat.h"

namespace strata::api {

void ToProto(const RecordedEvent& in, strata::v1::RecordedEvent* out) {
  ToProto(RecordedEvent(in), out);
}

void ToProto(RecordedEvent&& in, strata::v1::RecordedEvent* out) {
  out->set_position(in.position);
  out->set_stream(std::move(in.stream));
  out->set_version(in.stream_version);
  out->set_event_id(in.event_id.ToString());
  out->set_type(std::move(in.type));
  out->set_content_type(std::move(in.content_type));
  out->set_data(std::move(in.data));
  out->set_metadata(std::move(in.metadata));
  out->set_recorded_at(in.recorded_at_us);
  if (in.index_version.has_value()) out->set_index_version(*in.index_version);
}

void ToProto(const EventView& in, strata::v1::RecordedEvent* out) {
  ToProto(in.ToRecorded(), out);
}

absl::StatusOr<ExpectedVersion> FromProto(const strata::v1::ExpectedVersion& in) {
  using K = strata::v1::ExpectedVersion;
  switch (in.kind()) {
    case K::ANY:
      return ExpectedVersion::Any();
    case K::NO_STREAM:
      return ExpectedVersion::NoStream();
    case K::STREAM_EXISTS:
      return ExpectedVersion::StreamExists();
    case K::EXACT:
      return ExpectedVersion::Exact(in.version());
    case K::KIND_UNSPECIFIED:
      return absl::InvalidArgumentError(
          "expected_version.kind: required (ANY, NO_STREAM, STREAM_EXISTS or EXACT)");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("expected_version.kind: unknown value ", static_cast<int>(in.kind())));
  }
}

absl::StatusOr<std::vector<NewEvent>> FromProto(
    const google::protobuf::RepeatedPtrField<strata::v1::ProposedEvent>& in) {
  std::vector<NewEvent> out;
  out.reserve(in.size());
  for (int i = 0; i < in.size(); ++i) {
    const auto& p = in[i];
    NewEvent e;
    if (!p.event_id().empty()) {
      e.event_id = EventId::Parse(p.event_id());
      if (!e.event_id.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "events[", i, "].event_id: '", p.event_id().substr(0, 64),
            "' is not a UUID (8-4-4-4-12 hex digits)"));
      }
    }
    e.type = p.type();
    e.content_type = p.content_type();
    e.data = p.data();
    e.metadata = p.metadata();
    out.push_back(std::move(e));
  }
  return out;
}

ReadFilter FromProto(const strata::v1::Filter& in) {
  ReadFilter f;
  f.stream_prefix = in.stream_prefix();
  f.event_types.assign(in.event_types().begin(), in.event_types().end());
  return f;
}

absl::StatusOr<RecordedEvent> FromProto(const strata::v1::RecordedEvent& in) {
  RecordedEvent out;
  out.position = in.position();
  out.stream = in.stream();
  out.stream_version = in.version();
  std::optional<EventId> id = EventId::Parse(in.event_id());
  if (!id.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("event at position ", in.position(),
                                                   ": malformed event id '", in.event_id(), "'"));
  }
  out.event_id = *id;
  out.type = in.type();
  out.content_type = in.content_type();
  out.data = in.data();
  out.metadata = in.metadata();
  out.recorded_at_us = in.recorded_at();
  if (in.has_index_version()) out.index_version = in.index_version();
  return out;
}

}  // namespace strata::api

// The KurrentDB protocol's services but Append (kurrent_append.cc): Read of a
// stream or $all, forwards, backwards and as subscriptions; Delete and
// Tombstone; ServerFeatures. Also the helpers both files share
// (kurrent_internal.h).
#include "server/kurrent_service.h"

#include <atomic>
#include <deque>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/grpc_status.h"
#include "engine/base/coding.h"
#include "engine/base/validate.h"
#include "engine/index_streams.h"
#include "engine/log_cursor.h"
#include "re2/re2.h"
#include "server/event_writer.h"
#include "server/kurrent_internal.h"
#include "server/streams_service.h"

namespace strata::server {

namespace kurrent_internal {

grpc::Status WithException(grpc::CallbackServerContext* context, grpc::StatusCode code,
                           const char* exception, std::string message) {
  context->AddTrailingMetadata(kExceptionTrailer, exception);
  return grpc::Status(code, std::move(message));
}

// A tombstoned stream, as the clients expect it (they read its name).
grpc::Status StreamDeleted(grpc::CallbackServerContext* context, const std::string& stream,
                           const absl::Status& cause) {
  context->AddTrailingMetadata("stream-name", stream);
  return WithException(context, grpc::StatusCode::FAILED_PRECONDITION, kStreamDeleted,
                       std::string(cause.message()));
}

// The token check of a Streams method (security.h); OK without an authorizer.
grpc::Status Authorize(const Authorizer* authorizer, const grpc::CallbackServerContext& context,
                       absl::string_view method, Role role) {
  if (authorizer == nullptr) return grpc::Status::OK;
  return authorizer->Check(context, absl::StrCat("/event_store.client.streams.Streams/", method),
                           role);
}

}  // namespace kurrent_internal

namespace {

using kurrent_internal::Authorize;
using kurrent_internal::FromOptions;
using kurrent_internal::kWrongExpectedVersion;
using kurrent_internal::StreamDeleted;
using kurrent_internal::WithException;

namespace es = ::event_store::client;
using es::streams::ReadReq;
using es::streams::ReadResp;

constexpr char kDefaultContentType[] = "application/octet-stream";
// Filtered $all subscriptions: events scanned between checkpoints when the
// client sends no window (KurrentDB's default window of 32, multiplier 1).
constexpr uint64_t kCheckpointWindowDefault = 32;
// A filter's bounds: its regular expression (RE2: linear time, bounded
// memory, so no client pattern can stall a reader) and its prefixes.
constexpr size_t kFilterRegexBytesMax = 1024;
constexpr int64_t kFilterRegexMemoryMax = 1 << 20;
constexpr int kFilterPrefixesMax = 100;

// ---- events ----

void ToUuid(const EventId& id, bool structured, es::UUID* out) {
  if (!structured) {
    out->set_string(id.ToString());
    return;
  }
  const absl::string_view raw = id.AsBytes();
  out->mutable_structured()->set_most_significant_bits(
      static_cast<int64_t>(internal::GetBigEndian64(raw.data())));
  out->mutable_structured()->set_least_significant_bits(
      static_cast<int64_t>(internal::GetBigEndian64(raw.data() + 8)));
}

void ToRecordedEvent(RecordedEvent&& e, bool structured_ids,
                     ReadResp::ReadEvent::RecordedEvent* r) {
  ToUuid(e.event_id, structured_ids, r->mutable_id());
  r->mutable_stream_identifier()->set_stream_name(std::move(e.stream));
  r->set_stream_revision(e.stream_version);
  r->set_prepare_position(e.position);
  r->set_commit_position(e.position);
  auto& metadata = *r->mutable_metadata();
  metadata["type"] = std::move(e.type);
  metadata["content-type"] = e.content_type.empty() ? kDefaultContentType : e.content_type;
  metadata["created"] = absl::StrCat(e.recorded_at_us * 10);
  r->set_custom_metadata(std::move(e.metadata));
  r->set_data(std::move(e.data));
}

// The link KurrentDB would keep in `index_stream` ($ce-, $et-) for `e`, read
// through it: type "$>", data "<version>@<stream>". Its id is the
// original's with the index's kind mixed in and the UUID version 8 (so it is
// stable, and not the original's).
RecordedEvent LinkTo(const RecordedEvent& e, const std::string& index_stream) {
  RecordedEvent link;
  link.position = e.position;
  link.stream = index_stream;
  link.stream_version = *e.index_version;
  link.event_id = e.event_id;
  link.event_id.bytes[0] ^= static_cast<uint8_t>(index_stream.size() > 1 ? index_stream[1] : 0);
  link.event_id.bytes[6] = (link.event_id.bytes[6] & 0x0f) | 0x80;
  link.event_id.bytes[8] = (link.event_id.bytes[8] & 0x3f) | 0x80;
  link.type = "$>";
  link.data = absl::StrCat(e.stream_version, "@", e.stream);
  link.recorded_at_us = e.recorded_at_us;
  return link;
}

// A stored event as a ReadResp (KurrentDB's "created" is 100 ns ticks since
// the Unix epoch). An event read through an index stream is its link there,
// with the event itself when `resolve_links`.
void ToReadResp(RecordedEvent&& e, bool structured_ids, const std::string& index_stream,
                bool resolve_links, ReadResp* out) {
  out->Clear();
  ReadResp::ReadEvent* read = out->mutable_event();
  read->set_commit_position(e.position);
  if (e.index_version.has_value()) {
    RecordedEvent link = LinkTo(e, index_stream);
    if (!resolve_links) {
      ToRecordedEvent(std::move(link), structured_ids, read->mutable_event());
      return;
    }
    ToRecordedEvent(std::move(link), structured_ids, read->mutable_link());
  }
  ToRecordedEvent(std::move(e), structured_ids, read->mutable_event());
}

// ---- reads ----

// Which events of a read the client sees, beyond what the cursor selects.
struct EventFilter {
  // A stream subscription follows the whole log: the stream's events, or an
  // index stream's (index_kind set; index_name its category or type).
  std::string exact_stream;
  std::optional<IndexKind> index_kind;
  std::string index_name;
  bool by_type = false;  // else by stream name
  // A stream subscription's revision: only later events (set when the
  // subscription starts at a revision).
  std::optional<StreamVersion> after_version;
  std::vector<std::string> prefixes;
  std::unique_ptr<RE2> regex;

  // Whether the client sees `e`. An index stream's events are those
  // KurrentEncoder::Accept numbered (it asks the index which they are).
  bool Matches(const RecordedEvent& e) const {
    if (index_kind.has_value() && !e.index_version.has_value()) return false;
    if (!exact_stream.empty() && e.stream != exact_stream) return false;
    if (after_version.has_value() && e.index_version.value_or(e.stream_version) <= *after_version) {
      return false;
    }
    const std::string& name = by_type ? e.type : e.stream;
    if (!prefixes.empty()) {
      bool any = false;
      for (const std::string& p : prefixes) any = any || absl::StartsWith(name, p);
      if (!any) return false;
    }
    return regex == nullptr || RE2::PartialMatch(name, *regex);
  }
};

// KurrentDB's messages: one event each; a subscription starts with its
// confirmation and says once that it caught up; a filtered $all subscription
// sends a checkpoint every `checkpoint_interval` events scanned. A checkpoint
// travels through the buffer as a marker (an event with no stream), so it
// follows every event before it.
struct KurrentEncoder {
  // Fixed when the call starts.
  bool subscription = false;
  bool structured_ids = false;
  bool resolve_links = false;
  std::string index_stream;  // the index stream ($ce-, $et-) read, if one
  std::string subscription_id;
  std::shared_ptr<const EventFilter> filter;  // null: every event the cursor reads
  uint64_t checkpoint_interval = 0;           // 0: no checkpoints
  // Accept's own.
  uint64_t remaining = UINT64_MAX;  // a filtered read's count
  uint64_t scanned = 0;             // since the last checkpoint
  // An index stream's subscription: the version of the next event in it.
  std::optional<StreamVersion> next_index_version;

  bool Prologue(ReadResp* m) {
    if (!subscription) return false;
    m->Clear();
    m->mutable_confirmation()->set_subscription_id(subscription_id);
    return true;
  }

  bool Accept(std::vector<RecordedEvent>* page) {
    if (filter == nullptr) return false;
    std::vector<RecordedEvent> kept;
    for (RecordedEvent& e : *page) {
      if (remaining == 0) break;
      const GlobalPosition position = e.position;
      // The follower reads the whole log: it numbers an index's events.
      if (next_index_version.has_value() && filter->index_kind.has_value() &&
          IndexStream{*filter->index_kind, filter->index_name}.Holds(e.stream, e.type)) {
        e.index_version = (*next_index_version)++;
      }
      if (filter->Matches(e)) {
        kept.push_back(std::move(e));
        --remaining;
      }
      if (checkpoint_interval > 0 && ++scanned >= checkpoint_interval) {
        scanned = 0;
        RecordedEvent marker;
        marker.position = position;
        kept.push_back(std::move(marker));
      }
    }
    *page = std::move(kept);
    return remaining == 0;
  }

  void Fill(std::deque<RecordedEvent>* buffer, size_t* buffered_bytes, ReadResp* m) const {
    RecordedEvent e = std::move(buffer->front());
    buffer->pop_front();
    *buffered_bytes -= e.payload_bytes();
    if (e.stream.empty()) {
      m->Clear();
      m->mutable_checkpoint()->set_commit_position(e.position);
      m->mutable_checkpoint()->set_prepare_position(e.position);
      return;
    }
    ToReadResp(std::move(e), structured_ids, index_stream, resolve_links, m);
  }

  bool CaughtUp(GlobalPosition, ReadResp* m) const {
    if (!subscription) return false;
    m->Clear();
    m->mutable_caught_up();
    return true;
  }
};

using KurrentWriter = EventWriter<ReadResp, KurrentEncoder>;

// A started reader over a cursor or a follower, or the error answer.
template <typename Source>
grpc::ServerWriteReactor<ReadResp>* StartReader(absl::StatusOr<Source> source,
                                                SubscriptionHub* hub, KurrentEncoder encoder) {
  if (!source.ok()) return Reject<ReadResp>(source.status());
  auto* writer = new KurrentWriter(std::move(*source), hub, std::move(encoder));
  writer->Start();
  return writer;
}

// A read of a stream that does not exist: one stream_not_found, then OK.
class NotFoundWriter : public grpc::ServerWriteReactor<ReadResp> {
 public:
  explicit NotFoundWriter(std::string stream) {
    message_.mutable_stream_not_found()->mutable_stream_identifier()->set_stream_name(
        std::move(stream));
    StartWriteAndFinish(&message_, grpc::WriteOptions(), grpc::Status::OK);
  }
  void OnDone() override { delete this; }

 private:
  ReadResp message_;
};

absl::StatusOr<std::shared_ptr<const EventFilter>> MakeFilter(
    const ReadReq::Options::FilterOptions& in) {
  auto filter = std::make_shared<EventFilter>();
  const ReadReq::Options::FilterOptions::Expression* expression = nullptr;
  if (in.has_stream_identifier()) {
    expression = &in.stream_identifier();
  } else if (in.has_event_type()) {
    filter->by_type = true;
    expression = &in.event_type();
  } else {
    return absl::InvalidArgumentError(
        "options.filter: neither stream_identifier nor event_type is set");
  }
  if (expression->prefix_size() > kFilterPrefixesMax) {
    return absl::InvalidArgumentError(absl::StrCat("options.filter.prefix: ",
                                                   expression->prefix_size(), " prefixes; at most ",
                                                   kFilterPrefixesMax));
  }
  filter->prefixes.assign(expression->prefix().begin(), expression->prefix().end());
  const std::string& pattern = expression->regex();
  if (pattern.size() > kFilterRegexBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("options.filter.regex: ", pattern.size(),
                                                   " bytes; at most ", kFilterRegexBytesMax));
  }
  if (!pattern.empty()) {
    RE2::Options re_options;
    re_options.set_log_errors(false);
    re_options.set_max_mem(kFilterRegexMemoryMax);
    filter->regex = std::make_unique<RE2>(pattern, re_options);
    if (!filter->regex->ok()) {
      return absl::InvalidArgumentError(absl::StrCat("options.filter.regex: '",
                                                     pattern.substr(0, 100), "' is not valid: ",
                                                     filter->regex->error()));
    }
  }
  return filter;
}

// ---- appends ----

// KurrentDB's number for an expected revision in the wrong-expected-version
// trailers (-1 no stream, -2 any, -4 stream exists).
std::string ExpectedVersionNumber(ExpectedVersion expected) {
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kNoStream:
      return "-1";
    case ExpectedVersion::Kind::kAny:
      return "-2";
    case ExpectedVersion::Kind::kStreamExists:
      return "-4";
    case ExpectedVersion::Kind::kExact:
      break;
  }
  return absl::StrCat(expected.version());
}

// Delete and Tombstone: one event in the stream's metastream (the engine's
// DeleteStream). A stale expected revision is an error here, unlike Append's.
template <typename Request, typename Response>
grpc::ServerUnaryReactor* RemoveStream(grpc::CallbackServerContext* context, const Request& request,
                                       Response* response, DeleteMode mode, EventLog* log,
                                       const std::vector<std::string>& reserved_prefixes) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& stream = request.options().stream_identifier().stream_name();
  const absl::Status valid = CheckValidWritableStream(stream, reserved_prefixes);
  if (!valid.ok()) {
    reactor->Finish(api::ToGrpc(valid));
    return reactor;
  }
  const ExpectedVersion expected = FromOptions(request.options());
  log->DeleteStreamAsync(
      stream, expected, mode, [=, stream = stream](absl::StatusOr<AppendResult> result) {
        if (result.ok()) {
          response->mutable_position()->set_commit_position(result->last_position);
          response->mutable_position()->set_prepare_position(result->last_position);
          reactor->Finish(grpc::Status::OK);
        } else if (absl::IsFailedPrecondition(result.status())) {
          reactor->Finish(StreamDeleted(context, stream, result.status()));
        } else if (auto current = CurrentVersionOf(result.status())) {
          context->AddTrailingMetadata("stream-name", stream);
          context->AddTrailingMetadata("expected-version", ExpectedVersionNumber(expected));
          if (current->has_value()) {
            context->AddTrailingMetadata("actual-version", absl::StrCat(**current));
          }
          reactor->Finish(WithException(context, grpc::StatusCode::FAILED_PRECONDITION,
                                        kWrongExpectedVersion,
                                        std::string(result.status().message())));
        } else {
          reactor->Finish(api::ToGrpc(result.status()));
        }
      });
  return reactor;
}

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                   const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

KurrentStreamsService::KurrentStreamsService(EventLog* log, SubscriptionHub* hub,
                                             BlockingExecutor* executor,
                                             std::vector<std::string> reserved_prefixes,
                                             Limits limits)
    : log_(log),
      hub_(hub),
      executor_(executor),
      reserved_prefixes_(std::move(reserved_prefixes)),
      limits_(limits) {}

grpc::ServerWriteReactor<ReadResp>* KurrentStreamsService::Read(
    grpc::CallbackServerContext* context, const ReadReq* request) {
  if (grpc::Status s = Authorize(authorizer_, *context, "Read", Role::kRead); !s.ok()) {
    return new FinishedWriter<ReadResp>(s);
  }
  const ReadReq::Options& options = request->options();
  const bool backward = options.read_direction() == ReadReq::Options::Backwards;
  const bool subscription = options.has_subscription();
  KurrentEncoder encoder;
  encoder.subscription = subscription;
  encoder.structured_ids = options.uuid_option().has_structured();
  encoder.resolve_links = options.resolve_links();
  if (subscription) encoder.subscription_id = EventId::Random().ToString();
  const uint64_t count = options.has_count() ? options.count() : UINT64_MAX;

  std::shared_ptr<const EventFilter> filter;
  if (options.has_filter()) {
    if (options.has_stream()) {
      return Reject<ReadResp>(
          absl::InvalidArgumentError("options.filter: filters apply to $all reads only"));
    }
    absl::StatusOr<std::shared_ptr<const EventFilter>> made = MakeFilter(options.filter());
    if (!made.ok()) return Reject<ReadResp>(made.status());
    filter = *made;
    if (subscription) {
      const auto& f = options.filter();
      const uint64_t window = f.has_max() && f.max() > 0 ? f.max() : kCheckpointWindowDefault;
      encoder.checkpoint_interval =
          window * std::max<uint64_t>(1, f.checkpointintervalmultiplier());
    }
  }

  if (options.has_stream()) {
    const std::string& stream = options.stream().stream_identifier().stream_name();
    if (absl::Status valid = internal::ValidateStreamName(stream); !valid.ok()) {
      return Reject<ReadResp>(valid);
    }
    const auto& s = options.stream();
    // One position for the check and the read, so that a deletion between
    // them cannot turn the answer into a bare error.
    const GlobalPosition head = log_->Head();
    absl::StatusOr<StreamInfo> info = log_->GetStreamInfo(stream, head);
    if (!info.ok()) return Reject<ReadResp>(info.status());
    if (info->tombstoned_at.has_value()) {
      return Reject<ReadResp>(
          StreamDeleted(context, stream, TombstonedError(stream, *info->tombstoned_at)));
    }
    const std::optional<IndexStream> index = ParseIndexStream(stream);
    if (index.has_value()) encoder.index_stream = stream;
    if (subscription) {
      // Catch-up from after the given revision, then live: the whole log
      // from the position of that revision, narrowed to the stream.
      auto exact = std::make_shared<EventFilter>();
      ReadFilter narrow;
      if (index.has_value()) {
        exact->index_kind = index->kind;
        exact->index_name = std::string(index->name);
        narrow = index->Narrowing();
      } else {
        exact->exact_stream = stream;
        narrow.stream_prefix = stream;
      }
      GlobalPosition after = 0;
      if (s.has_end()) {
        after = log_->Head();
      } else if (s.has_revision()) {
        // From the event at that revision when it exists, else from the
        // head; either way only later revisions pass.
        exact->after_version = s.revision();
        CursorOptions at;
        at.stream = stream;
        at.from = s.revision();
        at.max_count = 1;
        at.apply_metadata = false;  // where that revision is, truncated or not
        absl::StatusOr<LogCursor> cursor = log_->NewCursor(std::move(at));
        if (!cursor.ok()) return Reject<ReadResp>(cursor.status());
        std::vector<RecordedEvent> one;
        if (absl::Status read = cursor->Next(1, &one); !read.ok()) return Reject<ReadResp>(read);
        after = one.empty() ? cursor->as_of_position() : one.front().position;
      }
      // Catch-up skips what the stream's metadata hides from reads ($tb,
      // $maxCount, $maxAge) as of the start: $maxAge by the first event a
      // read returns (ages rise with versions).
      StreamVersion first = info->first_visible_version();
      if (info->readable() && info->metadata.has_value() &&
          info->metadata->max_age_seconds.has_value()) {
        CursorOptions visible;
        visible.stream = stream;
        visible.as_of_position = head;
        visible.max_count = 1;
        absl::StatusOr<LogCursor> cursor = log_->NewCursor(std::move(visible));
        std::vector<RecordedEvent> one;
        absl::Status read = cursor.ok() ? cursor->Next(1, &one) : cursor.status();
        if (!read.ok()) return Reject<ReadResp>(read);
        first = one.empty() ? *info->last_version + 1 : one.front().stream_version;
      }
      if (first > 0) {
        exact->after_version = std::max(exact->after_version.value_or(0), first - 1);
      }
      if (index.has_value()) {
        // The follower numbers the index's events after `after`.
        absl::StatusOr<StreamInfo> at = log_->GetStreamInfo(stream, after);
        if (!at.ok()) return Reject<ReadResp>(at.status());
        encoder.next_index_version = at->last_version.has_value() ? *at->last_version + 1 : 0;
      }
      encoder.filter = std::move(exact);
      return StartReader(log_->Follow(after, narrow), hub_, std::move(encoder));
    }
    if (!info->readable()) return new NotFoundWriter(stream);
    CursorOptions read;
    read.stream = stream;
    read.as_of_position = head;
    read.direction = backward ? ReadDirection::kBackward : ReadDirection::kForward;
    if (s.has_revision()) read.from = s.revision();
    if (s.has_start()) read.from = 0;  // backwards: the first event alone
    if (s.has_end() && !backward) read.max_count = 0;  // forwards from the end: nothing
    read.max_count = std::min(read.max_count, count);
    return StartReader(log_->NewCursor(std::move(read)), hub_, std::move(encoder));
  }

  if (!options.has_all()) {
    return Reject<ReadResp>(absl::InvalidArgumentError("options: neither stream nor all is set"));
  }
  const auto& a = options.all();
  const GlobalPosition head = log_->Head();
  encoder.filter = filter;
  if (subscription) {
    GlobalPosition after = 0;
    if (a.has_end()) after = head;
    if (a.has_position()) after = std::min<GlobalPosition>(a.position().commit_position(), head);
    return StartReader(log_->Follow(after), hub_, std::move(encoder));
  }
  CursorOptions read;
  read.direction = backward ? ReadDirection::kBackward : ReadDirection::kForward;
  // Forwards from the end or backwards from the start: nothing to read.
  bool nothing = (a.has_end() && !backward) || (a.has_start() && backward);
  if (a.has_position()) {
    // Forwards from a position includes the event there; backwards reads
    // the events before it (KurrentDB's positions sit between records).
    const GlobalPosition p = a.position().commit_position();
    if (!backward) {
      read.from = std::max<GlobalPosition>(p, 1);
      nothing = p > head;
    } else {
      nothing = p <= 1;
      if (!nothing) read.from = std::min<GlobalPosition>(p - 1, head);
    }
  }
  // The count: of the events the cursor reads, or of those the filter keeps.
  if (nothing) {
    read.max_count = 0;
  } else if (filter == nullptr) {
    read.max_count = count;
  } else {
    encoder.remaining = count;
  }
  return StartReader(log_->NewCursor(std::move(read)), hub_, std::move(encoder));
}

grpc::ServerUnaryReactor* KurrentStreamsService::Delete(grpc::CallbackServerContext* context,
                                                        const es::streams::DeleteReq* request,
                                                        es::streams::DeleteResp* response) {
  if (grpc::Status s = Authorize(authorizer_, *context, "Delete", Role::kAdmin); !s.ok()) {
    return Finished(context, s);
  }
  return RemoveStream(context, *request, response, DeleteMode::kSoft, log_, reserved_prefixes_);
}

grpc::ServerUnaryReactor* KurrentStreamsService::Tombstone(grpc::CallbackServerContext* context,
                                                           const es::streams::TombstoneReq* request,
                                                           es::streams::TombstoneResp* response) {
  if (grpc::Status s = Authorize(authorizer_, *context, "Tombstone", Role::kAdmin); !s.ok()) {
    return Finished(context, s);
  }
  return RemoveStream(context, *request, response, DeleteMode::kTombstone, log_,
                      reserved_prefixes_);
}

grpc::ServerUnaryReactor* KurrentFeaturesService::GetSupportedMethods(
    grpc::CallbackServerContext* context, const es::Empty*,
    es::server_features::SupportedMethods* response) {
  response->set_event_store_server_version(kKurrentProtocolVersion);
  for (const char* method : {"read", "append", "delete", "tombstone"}) {
    es::server_features::SupportedMethod* m = response->add_methods();
    m->set_method_name(method);
    m->set_service_name("event_store.client.streams.streams");
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace strata::server

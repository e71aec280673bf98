// The KurrentDB protocol's Append (client streaming): the options, then one
// proposed_message per event, appended when the client half-closes; a wrong
// expected revision is an answer, not an error.
#include <atomic>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/grpc_status.h"
#include "engine/base/coding.h"
#include "engine/base/validate.h"
#include "server/kurrent_internal.h"
#include "server/kurrent_service.h"
#include "server/streams_service.h"

namespace strata::server {
namespace {

namespace es = ::event_store::client;
using es::streams::AppendReq;
using es::streams::AppendResp;
using kurrent_internal::Authorize;
using kurrent_internal::FromOptions;
using kurrent_internal::kAppendTooLarge;
using kurrent_internal::kMissingMetadata;
using kurrent_internal::StreamDeleted;
using kurrent_internal::WithException;

// An append over the limits; the clients read the limit.
grpc::Status AppendTooLarge(grpc::CallbackServerContext* context, const Limits& limits,
                            std::string message) {
  context->AddTrailingMetadata("maximum-append-size", absl::StrCat(limits.append_bytes_max));
  return WithException(context, grpc::StatusCode::RESOURCE_EXHAUSTED, kAppendTooLarge,
                       std::move(message));
}

// The structured form is the UUID's 16 bytes as two big-endian halves.
std::optional<EventId> FromUuid(const es::UUID& in) {
  if (in.has_structured()) {
    std::string raw;
    internal::PutBigEndian64(&raw, static_cast<uint64_t>(in.structured().most_significant_bits()));
    internal::PutBigEndian64(&raw, static_cast<uint64_t>(in.structured().least_significant_bits()));
    return EventId::FromBytes(raw);
  }
  return EventId::Parse(in.string());
}

// The success answer: the stream's revision (nullopt: no stream) and the
// position of the last event written (nullopt: nothing written).
void FillSuccess(std::optional<StreamVersion> revision, std::optional<GlobalPosition> position,
                 AppendResp* out) {
  AppendResp::Success* s = out->mutable_success();
  if (revision.has_value()) {
    s->set_current_revision(*revision);
  } else {
    s->mutable_no_stream();
  }
  if (position.has_value()) {
    s->mutable_position()->set_commit_position(*position);
    s->mutable_position()->set_prepare_position(*position);
  } else {
    s->mutable_no_position();
  }
}

void FillWrongExpectedVersion(ExpectedVersion expected, std::optional<StreamVersion> current,
                              AppendResp* out) {
  AppendResp::WrongExpectedVersion* w = out->mutable_wrong_expected_version();
  if (current.has_value()) {
    w->set_current_revision(*current);
  } else {
    w->mutable_current_no_stream();
  }
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kAny:
      w->mutable_expected_any();
      break;
    case ExpectedVersion::Kind::kNoStream:
      w->mutable_expected_no_stream();
      break;
    case ExpectedVersion::Kind::kStreamExists:
      w->mutable_expected_stream_exists();
      break;
    case ExpectedVersion::Kind::kExact:
      w->set_expected_revision(expected.version());
      break;
  }
}

// Append: the options, then one proposed_message per event; the append runs
// when the client half-closes. Completes on the log's writer thread, or (an
// append of no events, which only reads the log) on the executor.
class AppendReactor : public grpc::ServerReadReactor<AppendReq> {
 public:
  AppendReactor(grpc::CallbackServerContext* context, AppendResp* response, EventLog* log,
                BlockingExecutor* executor, const std::vector<std::string>* reserved_prefixes,
                Limits limits, const Authorizer* authorizer)
      : context_(context),
        response_(response),
        log_(log),
        executor_(executor),
        reserved_prefixes_(reserved_prefixes),
        limits_(limits),
        authorizer_(authorizer) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // A cancelled call (deadline, dropped connection) writes nothing; a
      // half-close means every event is here.
      if (cancelled_.load() || context_->IsCancelled()) {
        Finish(grpc::Status::CANCELLED);
      } else {
        Commit();
      }
      return;
    }
    grpc::Status error = Take();
    if (!error.ok()) {
      Finish(error);
      return;
    }
    StartRead(&request_);
  }
  void OnCancel() override { cancelled_.store(true); }
  void OnDone() override { delete this; }

 private:
  // Takes one message from the client.
  grpc::Status Take() {
    if (!stream_.has_value()) {
      if (!request_.has_options()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "options: the first message of an append must carry the options");
      }
      std::string stream = request_.options().stream_identifier().stream_name();
      const absl::Status valid = CheckValidWritableStream(stream, *reserved_prefixes_);
      if (!valid.ok()) return api::ToGrpc(valid);
      // Metadata can truncate or soft-delete the stream: as much as Delete.
      if (StreamOfMetastream(stream).has_value()) {
        grpc::Status s =
            Authorize(authorizer_, *context_, "Append to a metadata stream", Role::kAdmin);
        if (!s.ok()) return s;
      }
      expected_ = FromOptions(request_.options());
      stream_ = std::move(stream);
      return grpc::Status::OK;
    }
    if (!request_.has_proposed_message()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "options: sent twice; messages after the first carry events");
    }
    AppendReq::ProposedMessage* p = request_.mutable_proposed_message();
    const std::string field = absl::StrCat("proposed_message[", events_.size(), "]");
    NewEvent e;
    e.event_id = FromUuid(p->id());
    if (!e.event_id.has_value()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat(field, ".id: not a UUID"));
    }
    auto& metadata = *p->mutable_metadata();
    for (const char* key : {"type", "content-type"}) {
      if (!metadata.contains(key)) {
        return WithException(context_, grpc::StatusCode::INVALID_ARGUMENT, kMissingMetadata,
                             absl::StrCat(field, ".metadata: '", key, "' is required"));
      }
    }
    e.type = std::move(metadata["type"]);
    e.content_type = std::move(metadata["content-type"]);
    e.data = std::move(*p->mutable_data());
    e.metadata = std::move(*p->mutable_custom_metadata());
    bytes_ += e.data.size() + e.metadata.size() + e.type.size() + e.content_type.size();
    if (bytes_ > limits_.append_bytes_max || events_.size() >= limits_.events_per_append_max) {
      return AppendTooLarge(
          context_, limits_,
          absl::StrCat("append to '", *stream_, "': more than ", limits_.events_per_append_max,
                       " events or ", limits_.append_bytes_max, " bytes"));
    }
    events_.push_back(std::move(e));
    return grpc::Status::OK;
  }

  void Commit() {
    if (!stream_.has_value()) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "options: an append must start with its options"));
      return;
    }
    if (events_.empty()) {  // only checks the expected revision
      executor_->Schedule([this] { AnswerCheckOnly(); });
      return;
    }
    log_->AppendAsync(
        *stream_, expected_, std::move(events_), [this](absl::StatusOr<AppendResult> result) {
          if (result.ok()) {
            FillSuccess(result->last_version, result->last_position, response_);
            Finish(grpc::Status::OK);
          } else if (auto current = CurrentVersionOf(result.status())) {
            FillWrongExpectedVersion(expected_, *current, response_);
            Finish(grpc::Status::OK);
          } else if (absl::IsResourceExhausted(result.status())) {
            Finish(AppendTooLarge(context_, limits_, std::string(result.status().message())));
          } else if (absl::IsFailedPrecondition(result.status())) {
            Finish(StreamDeleted(context_, *stream_, result.status()));
          } else {
            Finish(api::ToGrpc(result.status()));
          }
        });
  }

  // An append of no events checks the expected revision only: success, or
  // the wrong-expected-version result (an OK call, as KurrentDB answers it).
  void AnswerCheckOnly() {
    absl::StatusOr<std::optional<StreamVersion>> current = log_->StreamLastVersion(*stream_);
    if (!current.ok()) {
      Finish(api::ToGrpc(current.status()));
      return;
    }
    if (expected_.HoldsFor(*current)) {
      FillSuccess(*current, std::nullopt, response_);
    } else {
      FillWrongExpectedVersion(expected_, *current, response_);
    }
    Finish(grpc::Status::OK);
  }

  grpc::CallbackServerContext* context_;
  AppendResp* response_;
  EventLog* log_;
  BlockingExecutor* executor_;
  const std::vector<std::string>* reserved_prefixes_;
  Limits limits_;
  const Authorizer* authorizer_;  // null: no token checks
  AppendReq request_;
  std::optional<std::string> stream_;
  ExpectedVersion expected_ = ExpectedVersion::Any();
  std::vector<NewEvent> events_;
  size_t bytes_ = 0;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

grpc::ServerReadReactor<AppendReq>* KurrentStreamsService::Append(
    grpc::CallbackServerContext* context, AppendResp* response) {
  if (grpc::Status s = Authorize(authorizer_, *context, "Append", Role::kWrite); !s.ok()) {
    return new FinishedReader<AppendReq>(s);
  }
  return new AppendReactor(context, response, log_, executor_, &reserved_prefixes_, limits_,
                           authorizer_);
}

}  // namespace strata::server

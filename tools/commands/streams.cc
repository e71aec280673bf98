// strata streams read | streams delete | log read | log tail
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "engine/log_cursor.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/events.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

constexpr uint64_t kOfflinePageEvents = 256;

std::string JsonHelp() {
  return "--json prints one JSON object per event per line, the format of strata export:\n" +
         std::string(kNdjsonFormatHelp);
}

// Prints a server stream of events until it ends; the exit code.
template <typename Reader, typename Response>
int PrintStream(Connection& c, grpc::ClientContext* ctx, Reader& reader, EventPrinter& printer) {
  Response response;
  absl::Status bad;
  while (bad.ok() && reader->Read(&response)) {
    bad = ForEachEvent(response.events(), [&](const RecordedEvent& e) {
      printer.Add(e);
      return true;
    });
    if (!bad.ok()) ctx->TryCancel();
  }
  grpc::Status s = reader->Finish();
  if (!bad.ok()) return Fail(bad);
  if (Interrupted()) {
    printer.Finish();
    return Fail(absl::CancelledError("interrupted"));
  }
  if (!s.ok()) return Fail(Explain(c, s));
  printer.Finish();
  return kExitOk;
}

}  // namespace

const CommandSpec& StreamsReadSpec() {
  static const CommandSpec spec{
      "streams read",
      "STREAM [--from-version V] [--backwards] [--max N] [--as-of P] [--json]",
      "Print the events of one stream.",
      "--as-of P shows the stream as it was when the log's head was at position P.\n"
      "STREAM may be an index stream kept by the log: $ce-<category> (the events of every\n"
      "stream <category>-...) or $et-<type>. Its events are shown as they are; --from-version\n"
      "counts in the index, and --json gives each event's index_version.\n" +
          JsonHelp(),
      {ServerFlag(),
       DataDirFlag("read a stopped server's data directory"),
       {"from-version", "V", "first stream version (default: 0, or the last with --backwards)"},
       {"backwards", "", "newest first"},
       {"max", "N", "at most N events (default: all)"},
       {"as-of", "P", "only events at positions <= P"},
       JsonFlag(),
       TimeoutFlag()},
      1,
      1};
  return spec;
}

const CommandSpec& StreamsDeleteSpec() {
  static const CommandSpec spec{
      "streams delete",
      "STREAM [--expected any|no-stream|exists|V] [--tombstone] [--json]",
      "Delete a stream: soft (reads answer not found until new appends) or for good.",
      "A soft delete truncates the stream's versions so far; later appends continue its\n"
      "versions and are read again. --tombstone deletes it for good: reads fail and appends are\n"
      "refused forever. Either is an event in the stream's metastream $$STREAM; the log keeps\n"
      "the stream's events (strata log read shows them). Needs a running server (--server).",
      {ServerFlag(),
       {"expected", "EXPECTED",
        "what the stream must be at: any (default), no-stream, exists or a last version V"},
       {"tombstone", "", "delete for good"},
       JsonFlag(),
       TimeoutFlag()},
      1,
      1};
  return spec;
}

const CommandSpec& LogReadSpec() {
  static const CommandSpec spec{
      "log read",
      "[--from P] [--backwards] [--max N] [--as-of P] [--stream-prefix S] [--type T ...] [--json]",
      "Print events of the whole log, filtered, in position order.",
      "Filters: --stream-prefix keeps streams whose name starts with S; each --type adds an\n"
      "event type to keep. --max counts matching events.\n" +
          JsonHelp(),
      {ServerFlag(),
       DataDirFlag("read a stopped server's data directory"),
       {"from", "P", "first position, inclusive (default: 1, or the head with --backwards)"},
       {"backwards", "", "newest first"},
       {"max", "N", "at most N events (default: all)"},
       {"as-of", "P", "only events at positions <= P"},
       {"stream-prefix", "S", "only streams whose name starts with S"},
       {"type", "T", "only events of type T", true},
       JsonFlag(),
       TimeoutFlag()},
      0,
      0};
  return spec;
}

const CommandSpec& LogTailSpec() {
  static const CommandSpec spec{
      "log tail",
      "[--from P] [--stream-prefix S] [--type T ...] [--max N] [--json]",
      "Follow new events like tail -f, until Ctrl-C.",
      "Starts after the current head, or at position P with --from (catching up first).\n"
      "Needs a running server (--server). " +
          JsonHelp(),
      {ServerFlag(),
       DataDirFlag("not supported: a stopped server has no new events (use log read)"),
       {"from", "P", "start at position P (default: after the current head)"},
       {"stream-prefix", "S", "only streams whose name starts with S"},
       {"type", "T", "only events of type T", true},
       {"max", "N", "stop after N events"},
       JsonFlag(),
       TimeoutFlag()},
      0,
      0};
  return spec;
}

int RunStreamsRead(const Argv& argv) {
  const CommandSpec& spec = StreamsReadSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> from, max, as_of;
  if (!args ||
      !ReadUintsOrExit(spec, *args, {{"from-version", &from}, {"max", &max}, {"as-of", &as_of}},
                       &code)) {
    return code;
  }
  const std::string stream = args->positional()[0];
  const bool backwards = args->Has("backwards");
  EventPrinter printer(args->Has("json"), /*live=*/false);

  if (std::optional<std::string> dir = args->Get("data-dir"); dir.has_value()) {
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        OpenOfflineLog(*dir, OfflineAccess::kRead);
    if (!log.ok()) return Fail(log.status());
    CursorOptions o;
    o.stream = stream;
    o.direction = backwards ? ReadDirection::kBackward : ReadDirection::kForward;
    o.from = from;
    o.as_of_position = as_of;
    if (max.value_or(0) != 0) o.max_count = *max;
    absl::StatusOr<LogCursor> cursor = (*log)->NewCursor(std::move(o));
    if (!cursor.ok()) return Fail(cursor.status());
    while (!cursor->done() && !Interrupted()) {
      std::vector<RecordedEvent> page;
      if (absl::Status s = cursor->Next(kOfflinePageEvents, &page); !s.ok()) return Fail(s);
      for (const RecordedEvent& e : page) printer.Add(e);
    }
    printer.Finish();
    return Interrupted() ? Fail(absl::CancelledError("interrupted")) : kExitOk;
  }

  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(*args);
  if (!c.ok()) return Fail(c.status());
  v1::ReadStreamRequest request;
  request.set_stream(stream);
  if (from.has_value()) request.set_from_version(*from);
  request.set_backwards(backwards);
  request.set_max_count(max.value_or(0));
  if (as_of.has_value()) request.set_as_of_position(*as_of);
  auto ctx = (*c)->Context(/*deadline=*/false);
  CancelOnInterrupt cancel(ctx.get());
  auto reader = (*c)->streams().ReadStream(ctx.get(), request);
  return PrintStream<decltype(reader), v1::ReadStreamResponse>(**c, ctx.get(), reader, printer);
}

int RunLogRead(const Argv& argv) {
  const CommandSpec& spec = LogReadSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> from, max, as_of;
  if (!args ||
      !ReadUintsOrExit(spec, *args, {{"from", &from}, {"max", &max}, {"as-of", &as_of}}, &code)) {
    return code;
  }
  const bool backwards = args->Has("backwards");
  const std::string prefix = args->GetOr("stream-prefix", "");
  const std::vector<std::string> types = args->GetAll("type");
  EventPrinter printer(args->Has("json"), /*live=*/false);

  if (std::optional<std::string> dir = args->Get("data-dir"); dir.has_value()) {
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        OpenOfflineLog(*dir, OfflineAccess::kRead);
    if (!log.ok()) return Fail(log.status());
    ReadAllOptions o;
    o.direction = backwards ? ReadDirection::kBackward : ReadDirection::kForward;
    o.from_position = from.has_value() ? *from : backwards ? kReadFromEnd : 1;
    o.max_count = max.value_or(0) == 0 ? UINT64_MAX : *max;
    o.as_of_position = as_of.has_value() ? *as_of : (*log)->Head();
    o.filter.stream_prefix = prefix;
    o.filter.event_types = types;
    absl::Status s = (*log)->ScanAll(o, [&](const EventView& e) {
      printer.Add(e.ToRecorded());
      return !Interrupted();
    });
    if (!s.ok()) return Fail(s);
    printer.Finish();
    return Interrupted() ? Fail(absl::CancelledError("interrupted")) : kExitOk;
  }

  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(*args);
  if (!c.ok()) return Fail(c.status());
  v1::ReadAllRequest request;
  if (from.has_value()) request.set_from_position(*from);
  request.set_backwards(backwards);
  request.set_max_count(max.value_or(0));
  if (as_of.has_value()) request.set_as_of_position(*as_of);
  request.mutable_filter()->set_stream_prefix(prefix);
  for (const std::string& t : types) request.mutable_filter()->add_event_types(t);
  auto ctx = (*c)->Context(/*deadline=*/false);
  CancelOnInterrupt cancel(ctx.get());
  auto reader = (*c)->streams().ReadAll(ctx.get(), request);
  return PrintStream<decltype(reader), v1::ReadAllResponse>(**c, ctx.get(), reader, printer);
}

int RunLogTail(const Argv& argv) {
  const CommandSpec& spec = LogTailSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  std::optional<uint64_t> from, max;
  if (!args || !ReadUintsOrExit(spec, *args, {{"from", &from}, {"max", &max}}, &code)) {
    return code;
  }
  if (args->Has("data-dir")) {
    return UsageError(spec,
                      "log tail follows a running server (--server); for a stopped "
                      "server's data directory use log read --data_dir");
  }
  const bool json = args->Has("json");
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;

  v1::SubscribeRequest request;
  if (from.has_value()) {
    request.set_after_position(*from == 0 ? 0 : *from - 1);
  } else {
    // After the current head: read the last event's position.
    v1::ReadAllRequest last;
    last.set_backwards(true);
    last.set_max_count(1);
    auto ctx = c.Context();
    CancelOnInterrupt cancel(ctx.get());
    auto reader = c.streams().ReadAll(ctx.get(), last);
    v1::ReadAllResponse response;
    while (reader->Read(&response)) {
      for (const v1::RecordedEvent& e : response.events()) request.set_after_position(e.position());
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail(Explain(c, s));
  }
  request.mutable_filter()->set_stream_prefix(args->GetOr("stream-prefix", ""));
  for (const std::string& t : args->GetAll("type")) request.mutable_filter()->add_event_types(t);

  EventPrinter printer(json, /*live=*/true);
  const uint64_t max_events = max.value_or(0);
  auto ctx = c.Context(/*deadline=*/false);
  CancelOnInterrupt cancel(ctx.get());
  auto reader = c.streams().Subscribe(ctx.get(), request);
  v1::SubscribeResponse response;
  bool told_caught_up = false;
  bool done = false;
  absl::Status bad;
  while (!done && reader->Read(&response)) {
    if (response.has_caught_up()) {
      if (!json && !told_caught_up && isatty(STDERR_FILENO)) {
        WriteAll(stderr, absl::StrCat("(caught up at position ", response.caught_up().position(),
                                      "; following new events, Ctrl-C to stop)\n"));
      }
      told_caught_up = true;
      continue;
    }
    bad = ForEachEvent(response.events(), [&](const RecordedEvent& e) {
      printer.Add(e);
      done = max_events != 0 && printer.count() >= max_events;
      return !done;
    });
    if (!bad.ok()) done = true;
  }
  ctx->TryCancel();
  while (reader->Read(&response)) {
  }
  grpc::Status s = reader->Finish();
  if (!bad.ok()) return Fail(bad);
  // Ctrl-C and --max are the normal ends of a tail.
  if (done || Interrupted() || s.ok()) return kExitOk;
  return Fail(Explain(c, s));
}

int RunStreamsDelete(const Argv& argv) {
  const CommandSpec& spec = StreamsDeleteSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  v1::DeleteStreamRequest request;
  request.set_stream(args->positional()[0]);
  request.set_tombstone(args->Has("tombstone"));
  const std::string expected = args->Get("expected").value_or("any");
  v1::ExpectedVersion* e = request.mutable_expected_version();
  uint64_t version = 0;
  if (expected == "any") {
    e->set_kind(v1::ExpectedVersion::ANY);
  } else if (expected == "no-stream") {
    e->set_kind(v1::ExpectedVersion::NO_STREAM);
  } else if (expected == "exists") {
    e->set_kind(v1::ExpectedVersion::STREAM_EXISTS);
  } else if (absl::SimpleAtoi(expected, &version)) {
    e->set_kind(v1::ExpectedVersion::EXACT);
    e->set_version(version);
  } else {
    return UsageError(spec, absl::StrCat("--expected: '", expected,
                                         "' is none of any, no-stream, exists or a version"));
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::DeleteStreamResponse response;
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  grpc::Status s = c.streams().DeleteStream(ctx.get(), request, &response);
  if (!s.ok()) return Fail(Explain(c, s));
  const char* how = request.tombstone() ? "tombstoned" : "deleted";
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("stream").String(request.stream()).Key(how).Bool(true);
    w.Key("position").Uint(response.position()).EndObject();
    WriteAll(stdout, w.str() + "\n");
  } else {
    WriteAll(stdout, absl::StrCat(how, " stream ", request.stream(), " at position ",
                                  FormatCount(response.position()), "\n"));
  }
  return kExitOk;
}

}  // namespace strata::cli

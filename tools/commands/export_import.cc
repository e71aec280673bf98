// strata export [--from P] [--to P] [--out FILE] | strata import FILE --data_dir DIR
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/convert.h"
#include "absl/strings/str_split.h"
#include "engine/base/validate.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/events.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

// Import batches: one per run of consecutive lines of one stream, split so
// that each stays well within the log's per-append limits.
constexpr size_t kImportBatchEventsMax = 1000;
constexpr size_t kImportBatchBytesMax = 8 << 20;
constexpr size_t kImportBatchesInFlightMax = 1024;

// Where export writes: stdout, or a temporary file renamed over FILE only
// once complete, so an interrupted export leaves no partial FILE.
class ExportSink {
 public:
  absl::Status Open(const std::optional<std::string>& path) {
    if (!path.has_value()) {
      file_ = stdout;
      return absl::OkStatus();
    }
    path_ = *path;
    temp_ = absl::StrCat(*path, ".tmp.", getpid());
    file_ = std::fopen(temp_.c_str(), "wb");
    if (file_ == nullptr) {
      return LocalError(absl::StatusCode::kFailedPrecondition,
                        absl::StrCat("cannot write ", temp_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  void Write(absl::string_view line) { WriteAll(file_, line); }

  absl::Status Commit() {
    if (std::fflush(file_) != 0 || std::ferror(file_)) {
      return LocalError(absl::StatusCode::kInternal,
                        absl::StrCat("writing ", path_.empty() ? "stdout" : temp_,
                                     " failed: ", std::strerror(errno)));
    }
    if (path_.empty()) return absl::OkStatus();
    const bool synced = fsync(fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    if (!synced || std::rename(temp_.c_str(), path_.c_str()) != 0) {
      const std::string error = std::strerror(errno);
      std::remove(temp_.c_str());
      return LocalError(absl::StatusCode::kInternal,
                        absl::StrCat("cannot complete ", path_, ": ", error));
    }
    return absl::OkStatus();
  }

  ~ExportSink() {
    if (!path_.empty() && file_ != nullptr) {
      std::fclose(file_);
      std::remove(temp_.c_str());  // not committed: leave nothing behind
    }
  }

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string temp_;
};

struct Batch {
  size_t first_line = 0;  // 1-based
  std::string stream;
  StreamVersion first_version = 0;
  std::vector<NewEvent> events;
  size_t bytes = 0;
};

}  // namespace

const CommandSpec& ExportSpec() {
  static const CommandSpec spec{
      "export",
      "[--from P] [--to P] [--out FILE] [--json]",
      "Write events as NDJSON, one per line, in position order.",
      absl::StrCat(
          "From a running server, or with --data_dir from a stopped one's data directory.\n",
          kNdjsonFormatHelp,
          "\nWith --out the file appears only once complete (an interrupted export leaves none),\n"
          "and a summary is printed (as JSON with --json)."),
      {ServerFlag(),
       DataDirFlag("export a stopped server's data directory"),
       {"from", "P", "first position (default 1)"},
       {"to", "P", "last position (default: the head when the export starts)"},
       {"out", "FILE", "write to FILE instead of stdout"},
       JsonFlag(),
       TimeoutFlag()},
      0,
      0};
  return spec;
}

const CommandSpec& ImportSpec() {
  static const CommandSpec spec{
      "import",
      "FILE --data_dir DIR [--json]",
      "Import an NDJSON export into a stopped server's data directory.",
      absl::StrCat(
          "Appends the events to the log in DIR (created when missing), keeping event ids,\n"
          "stream versions and recorded times. The whole file is checked first: the first bad\n"
          "line is reported by number and nothing is written. Lines must be in position order.\n"
          "Each run of consecutive lines of one stream is appended atomically, expecting the\n"
          "stream at the version before the run's first, so importing the same file twice\n"
          "changes nothing (the log recognises the event ids). Ctrl-C stops after whole\n"
          "batches; rerun to finish. FILE '-' reads stdin. The read models catch up when\n"
          "stratad next starts.\n\n",
          kNdjsonFormatHelp),
      {DataDirFlag("the data directory to import into (required)"), JsonFlag()},
      1,
      1};
  return spec;
}

int RunExport(const Argv& argv) {
  const CommandSpec& spec = ExportSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> from_arg, to_arg;
  if (!args || !ReadUintsOrExit(spec, *args, {{"from", &from_arg}, {"to", &to_arg}}, &code)) {
    return code;
  }
  const uint64_t from = std::max<uint64_t>(1, from_arg.value_or(1));
  const uint64_t to = to_arg.value_or(UINT64_MAX);
  if (from > to) return UsageError(spec, absl::StrCat("--from ", from, " is after --to ", to));
  const std::optional<std::string> out_path = args->Get("out");

  ExportSink sink;
  uint64_t count = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  auto emit = [&](const RecordedEvent& e) {
    if (count == 0) first = e.position;
    last = e.position;
    ++count;
    sink.Write(EventToJsonLine(e) + "\n");
  };

  if (std::optional<std::string> dir = args->Get("data-dir"); dir.has_value()) {
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        OpenOfflineLog(*dir, OfflineAccess::kRead);
    if (!log.ok()) return Fail(log.status());
    if (absl::Status s = sink.Open(out_path); !s.ok()) return Fail(s);
    ReadAllOptions o;
    o.from_position = from;
    o.as_of_position = (*log)->Head();
    absl::Status s = (*log)->ScanAll(o, [&](const EventView& e) {
      if (e.position > to || Interrupted()) return false;
      emit(e.ToRecorded());
      return true;
    });
    if (!s.ok()) return Fail(s);
  } else {
    absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
    if (!opened.ok()) return Fail(opened.status());
    Connection& c = **opened;
    if (absl::Status s = sink.Open(out_path); !s.ok()) return Fail(s);
    v1::ReadAllRequest request;
    request.set_from_position(from);
    if (to != UINT64_MAX) request.set_max_count(to - from + 1);
    auto ctx = c.Context(/*deadline=*/false);
    CancelOnInterrupt cancel(ctx.get());
    auto reader = c.streams().ReadAll(ctx.get(), request);
    v1::ReadAllResponse response;
    absl::Status bad;
    while (bad.ok() && reader->Read(&response)) {
      bad = ForEachEvent(response.events(), [&](const RecordedEvent& e) {
        if (e.position <= to) emit(e);
        return true;
      });
      if (!bad.ok()) ctx->TryCancel();
    }
    grpc::Status s = reader->Finish();
    if (!bad.ok()) return Fail(bad);
    if (!s.ok()) return Fail(Explain(c, s));
  }
  if (Interrupted()) return Fail(absl::CancelledError("interrupted"));
  if (absl::Status s = sink.Commit(); !s.ok()) return Fail(s);
  if (out_path.has_value()) {
    if (args->Has("json")) {
      JsonWriter w;
      w.BeginObject();
      w.Key("file").String(*out_path);
      w.Key("events").Uint(count);
      w.Key("first_position").Uint(first);
      w.Key("last_position").Uint(last);
      w.EndObject();
      WriteAll(stdout, w.str() + "\n");
    } else {
      WriteAll(stdout, count == 0
                           ? absl::StrCat("exported 0 events to ", *out_path, "\n")
                           : absl::StrCat("exported ", FormatCount(count), " events (positions ",
                                          first, "..", last, ") to ", *out_path, "\n"));
    }
  }
  return kExitOk;
}

int RunImport(const Argv& argv) {
  const CommandSpec& spec = ImportSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  std::optional<std::string> dir = args->Get("data-dir");
  if (!dir.has_value()) {
    return UsageError(spec,
                      "--data_dir DIR is required (import writes to a stopped server's "
                      "data directory)");
  }
  const std::string path = args->positional()[0];
  const bool json = args->Has("json");

  // 1. Read and check the whole file before writing anything.
  std::string text;
  {
    std::ostringstream buffer;
    if (path == "-") {
      buffer << std::cin.rdbuf();
    } else {
      std::ifstream in(path, std::ios::binary);
      if (!in) return FailWith(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
      buffer << in.rdbuf();
    }
    text = buffer.str();
  }
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<ImportedEvent> events;
  events.reserve(lines.size());
  std::map<std::string, std::pair<StreamVersion, size_t>>
      last_version;                 // stream -> (version, line)
  std::vector<size_t> first_lines;  // index of each stream's first line
  const Limits limits;
  auto interrupted_before_writing = [] {
    WriteAll(stderr, "strata: interrupted: nothing imported\n");
    return kExitInterrupted;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i % 1024 == 0 && Interrupted()) return interrupted_before_writing();
    const size_t line_number = i + 1;
    auto bad = [&](absl::string_view why) {
      return FailWith(absl::StrCat(path, " line ", line_number, ": ", why, "; nothing imported"));
    };
    absl::StatusOr<ImportedEvent> e = ParseEventLine(lines[i]);
    if (!e.ok()) return bad(e.status().message());
    if (absl::Status s = internal::ValidateStreamName(e->stream, "stream"); !s.ok()) {
      return bad(s.message());
    }
    if (absl::Status s = internal::ValidateEvents({e->event}, limits); !s.ok()) {
      std::string message(s.message());
      if (absl::StartsWith(message, "events[0].")) message = message.substr(10);
      return bad(message);
    }
    if (!events.empty() && e->position <= events.back().position) {
      return bad(absl::StrCat("position ", e->position, " does not follow position ",
                              events.back().position, " of line ", line_number - 1,
                              " (lines must be in position order)"));
    }
    auto [it, fresh] = last_version.try_emplace(e->stream, e->stream_version, line_number);
    if (fresh) first_lines.push_back(i);
    if (!fresh) {
      if (e->stream_version != it->second.first + 1) {
        return bad(absl::StrCat("stream '", e->stream, "' version ", e->stream_version,
                                " does not follow version ", it->second.first, " (line ",
                                it->second.second, ")"));
      }
      it->second = {e->stream_version, line_number};
    }
    events.push_back(std::move(*e));
  }

  // 2. Check each stream's first line against the store, so that a file that
  // does not continue the store's streams is refused before anything is
  // written. A stream already holding the line's event is a repeated import.
  std::unique_ptr<EventLog> log;
  {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(LogDir(*dir)) / "CURRENT", ec)) {
      absl::StatusOr<std::unique_ptr<EventLog>> opened =
          OpenOfflineLog(*dir, OfflineAccess::kWrite);
      if (!opened.ok()) return Fail(opened.status());
      log = std::move(*opened);
    } else if (absl::Status s = CheckNotInUse(*dir); !s.ok()) {
      return Fail(s);
    }
  }
  for (size_t i : first_lines) {
    const ImportedEvent& e = events[i];
    std::optional<StreamVersion> head;
    if (log != nullptr) {
      absl::StatusOr<std::optional<StreamVersion>> h = log->StreamLastVersion(e.stream);
      if (!h.ok()) return Fail(h.status());
      head = *h;
    }
    auto refuse = [&](const std::string& why) {
      return FailWith(absl::StrCat(path, " line ", i + 1, ": stream '", e.stream, "' ", why,
                                   "; nothing imported"));
    };
    if (head.has_value() && *head >= e.stream_version) {
      ReadStreamOptions o;
      o.from_version = e.stream_version;
      o.max_count = 1;
      o.apply_metadata = false;  // what is stored, truncated or deleted or not
      absl::StatusOr<std::vector<RecordedEvent>> stored = log->ReadStream(e.stream, o);
      if (!stored.ok()) return Fail(stored.status());
      if (stored->empty() || !(stored->front().event_id == *e.event.event_id)) {
        return refuse(absl::StrCat(
            "already holds ", stored->empty() ? "no event" : stored->front().event_id.ToString(),
            " at version ", e.stream_version, ", not ", e.event.event_id->ToString()));
      }
    } else if (e.stream_version > 0 && (!head.has_value() || *head + 1 < e.stream_version)) {
      return refuse(absl::StrCat(
          "starts at version ", e.stream_version, ", but the store ",
          head.has_value() ? absl::StrCat("has it at version ", *head) : "does not have it"));
    }
  }

  // 3. Group into batches: runs of one stream.
  std::vector<Batch> batches;
  for (size_t i = 0; i < events.size(); ++i) {
    ImportedEvent& e = events[i];
    const size_t bytes = e.event.data.size() + e.event.metadata.size() + e.event.type.size() +
                         e.event.content_type.size();
    if (batches.empty() || batches.back().stream != e.stream ||
        batches.back().events.size() >= kImportBatchEventsMax ||
        batches.back().bytes + bytes > kImportBatchBytesMax) {
      Batch b;
      b.first_line = i + 1;
      b.stream = e.stream;
      b.first_version = e.stream_version;
      batches.push_back(std::move(b));
    }
    batches.back().events.push_back(std::move(e.event));
    batches.back().bytes += bytes;
  }
  events.clear();

  // 4. Append, pipelined: the log commits queued appends in order.
  if (Interrupted()) return interrupted_before_writing();
  if (log == nullptr) {
    absl::StatusOr<std::unique_ptr<EventLog>> opened =
        OpenOfflineLog(*dir, OfflineAccess::kCreate);
    if (!opened.ok()) return Fail(opened.status());
    log = std::move(*opened);
  }
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  uint64_t appended = 0;
  uint64_t present = 0;
  std::optional<std::pair<size_t, absl::Status>> failure;  // (batch index, error)
  size_t submitted = 0;
  for (; submitted < batches.size(); ++submitted) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < kImportBatchesInFlightMax; });
      if (failure.has_value() || Interrupted()) break;
      ++in_flight;
    }
    Batch& b = batches[submitted];
    const size_t n = b.events.size();
    const ExpectedVersion expected = b.first_version == 0
                                         ? ExpectedVersion::NoStream()
                                         : ExpectedVersion::Exact(b.first_version - 1);
    const size_t index = submitted;
    log->ImportAsync(b.stream, expected, std::move(b.events),
                     [&, index, n](absl::StatusOr<AppendResult> r) {
                       std::lock_guard<std::mutex> lock(mu);
                       --in_flight;
                       if (!r.ok()) {
                         if (!failure.has_value() || failure->first > index) {
                           failure.emplace(index, r.status());
                         }
                       } else if (r->deduplicated) {
                         present += n;
                       } else {
                         appended += n;
                       }
                       cv.notify_all();
                     });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  const GlobalPosition head = log->Head();
  log.reset();  // closes the store before reporting

  if (failure.has_value()) {
    const Batch& b = batches[failure->first];
    return FailWith(absl::StrCat(path, " line ", b.first_line, ": ",
                                 absl::StatusCodeToString(failure->second.code()), ": ",
                                 failure->second.message(), " (", appended + present,
                                 " events before it are in the store; rerunning skips them)"));
  }
  if (submitted < batches.size()) {  // interrupted
    WriteAll(stderr, absl::StrCat("strata: interrupted: ", FormatCount(appended + present), " of ",
                                  FormatCount(lines.size()),
                                  " events are in the store, in whole stream batches; rerun the "
                                  "same import to finish\n"));
    return kExitInterrupted;
  }
  if (json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("file").String(path);
    w.Key("events").Uint(lines.size());
    w.Key("appended").Uint(appended);
    w.Key("already_present").Uint(present);
    w.Key("head").Uint(head);
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
  } else {
    WriteAll(stdout,
             absl::StrCat("imported ", path, " into ", *dir, ": ", FormatCount(lines.size()),
                          " events, ", FormatCount(appended), " appended, ", FormatCount(present),
                          " already present; the log's head is ", FormatCount(head), "\n"));
  }
  return kExitOk;
}

}  // namespace strata::cli

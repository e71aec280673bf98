#include "tests/testutil/crash_child_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "engine/base/macros.h"
#include "engine/event.h"
#include "engine/event_log.h"
#include "engine/options.h"
#include "tests/engine/crash_payload.h"

namespace strata::crashtest {
namespace {

constexpr int kThreads = 4;
constexpr int kBatchMin = 1;
constexpr int kBatchMax = 5;

// A random RFC 4122 version 4 event id drawn from `rng`.
EventId RandomId(std::mt19937_64& rng) {
  EventId id;
  for (size_t i = 0; i < id.bytes.size(); i += 8) {
    const uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

// One appender thread of AppendAndAcknowledgeForever; `out_mu` serializes
// the acknowledgement lines of all of them.
void AppendForever(const char* program, EventLog* log, uint64_t seed, int thread_index,
                   absl::string_view stream_prefix, std::mutex* out_mu) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(thread_index)};
  std::mt19937_64 rng(seq);
  std::uniform_int_distribution<int> batch_size(kBatchMin, kBatchMax);
  std::uniform_int_distribution<int> stream_index(0, kStreams - 1);
  for (;;) {
    const std::string stream = absl::StrCat(stream_prefix, stream_index(rng));
    std::vector<NewEvent> events(batch_size(rng));
    std::string ids;
    for (NewEvent& e : events) {
      const EventId id = RandomId(rng);
      e.event_id = id;
      e.type = kEventType;
      e.content_type = kContentType;
      e.data = PayloadFor(id);
      absl::StrAppend(&ids, ids.empty() ? "" : ",", id.ToString());
    }
    absl::StatusOr<AppendResult> r = log->Append(stream, ExpectedVersion::Any(), std::move(events));
    if (!r.ok()) {
      std::fprintf(stderr, "%s: append to %s failed: %s\n", program, stream.c_str(),
                   r.status().ToString().c_str());
      std::_Exit(4);
    }
    const std::string line =
        absl::StrCat(r->first_position, " ", stream, " ", r->last_version, " ", ids, "\n");
    std::lock_guard<std::mutex> lock(*out_mu);
    WriteToStdout(program, line);
  }
}

// Parses one acknowledgement line, without its '\n'.
std::optional<Ack> ParseAck(absl::string_view line) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  if (fields.size() != 4) return std::nullopt;
  Ack ack;
  if (!absl::SimpleAtoi(fields[0], &ack.first_position)) return std::nullopt;
  ack.stream = std::string(fields[1]);
  if (!absl::SimpleAtoi(fields[2], &ack.last_version)) return std::nullopt;
  for (absl::string_view text : absl::StrSplit(fields[3], ',')) {
    std::optional<EventId> id = EventId::Parse(text);
    if (!id.has_value()) return std::nullopt;
    ack.ids.push_back(*id);
  }
  if (ack.first_position == 0 || ack.ids.empty() || ack.last_version + 1 < ack.ids.size()) {
    return std::nullopt;
  }
  return ack;
}

// A structural fault found by a check, described by `parts`.
template <typename... Parts>
absl::Status Fault(const Parts&... parts) {
  return absl::InternalError(absl::StrCat(parts...));
}

// `status` of the call named by `what`, with the name in front.
absl::Status Failed(absl::string_view what, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// A stream head for a message.
std::string HeadText(const std::optional<StreamVersion>& head) {
  return head.has_value() ? absl::StrCat("version ", *head) : std::string("none");
}

}  // namespace

std::optional<uint64_t> ParseChildArgs(const char* program, int argc, char** argv, int extra_args,
                                       const char* extra_usage) {
  if (argc != 3 + extra_args) {
    std::fprintf(stderr, "usage: %s <data_dir> <seed>%s%s\n", argv[0],
                 *extra_usage == '\0' ? "" : " ", extra_usage);
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const uint64_t seed = std::strtoull(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0') {
    std::fprintf(stderr, "%s: bad seed '%s'\n", program, argv[2]);
    return std::nullopt;
  }
  return seed;
}

std::unique_ptr<EventLog> OpenLogOrExit(const char* program, const std::string& data_dir,
                                        EventLogOptions options) {
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(data_dir, std::move(options));
  if (!log.ok()) {
    std::fprintf(stderr, "%s: open %s failed: %s\n", program, data_dir.c_str(),
                 log.status().ToString().c_str());
    std::exit(3);
  }
  return *std::move(log);
}

void WriteToStdout(const char* program, absl::string_view text) {
  for (;;) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n == static_cast<ssize_t>(text.size())) return;
    if (n < 0 && errno == EINTR) continue;
    std::fprintf(stderr, "%s: write to stdout failed (%zd of %zu)\n", program, n, text.size());
    std::_Exit(5);
  }
}

void AppendAndAcknowledgeForever(const char* program, EventLog* log, uint64_t seed,
                                 absl::string_view stream_prefix) {
  std::mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(AppendForever, program, log, seed, t, stream_prefix, &out_mu);
  }
  // The threads run until SIGKILL; nothing returns normally.
  for (std::thread& th : threads) th.join();
}

absl::Status ParseAcks(absl::string_view output, std::vector<Ack>* acks, size_t* events) {
  size_t line_start = 0;
  for (size_t nl; (nl = output.find('\n', line_start)) != absl::string_view::npos;
       line_start = nl + 1) {
    const absl::string_view line = output.substr(line_start, nl - line_start);
    std::optional<Ack> ack = ParseAck(line);
    if (!ack.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("bad line from the child: '", line, "'"));
    }
    *events += ack->ids.size();
    acks->push_back(*std::move(ack));
  }
  return absl::OkStatus();
}

RecoveredLogChecker::RecoveredLogChecker(std::string data_dir, std::string stream_prefix)
    : data_dir_(std::move(data_dir)), stream_prefix_(std::move(stream_prefix)) {}

absl::Status RecoveredLogChecker::CheckAll(const std::vector<Ack>& acks, CheckOutcome* outcome) {
  return Check(acks, /*full=*/true, /*new_from=*/0, /*sample=*/0, /*rng=*/nullptr, outcome);
}

absl::Status RecoveredLogChecker::CheckNew(const std::vector<Ack>& acks, size_t new_from,
                                           int sample, std::mt19937_64& rng,
                                           CheckOutcome* outcome) {
  return Check(acks, /*full=*/false, new_from, sample, &rng, outcome);
}

absl::Status RecoveredLogChecker::Check(const std::vector<Ack>& acks, bool full, size_t new_from,
                                        int sample, std::mt19937_64* rng,
                                        CheckOutcome* outcome) {
  absl::StatusOr<std::unique_ptr<EventLog>> opened = EventLog::Open(data_dir_);
  if (!opened.ok()) return Failed(absl::StrCat("open ", data_dir_), opened.status());
  const EventLog& log = **opened;

  const GlobalPosition head = log.Head();
  outcome->head = head;
  if (head < verified_.head) {
    return Fault("the head moved back from ", verified_.head, " to ", head,
                 ": events recovered at an earlier restart are gone");
  }
  Verified next;
  if (!full) {
    next.next_version = verified_.next_version;
    next.position_of = verified_.position_of;
  }

  // The events after `from`: dense positions, dense versions per stream,
  // each id once, each event's bytes.
  const GlobalPosition from = full ? 1 : verified_.head + 1;
  ReadAllOptions read;
  read.from_position = from;
  absl::StatusOr<std::vector<RecordedEvent>> tail = log.ReadAll(read);
  if (!tail.ok()) return Failed("ReadAll", tail.status());
  if (tail->size() != head - from + 1) {
    return Fault("ReadAll from position ", from, " returned ", tail->size(),
                 " events; the head is ", head);
  }
  for (size_t i = 0; i < tail->size(); ++i) {
    const RecordedEvent& e = (*tail)[i];
    if (e.position != from + i) {
      return Fault("ReadAll returned position ", e.position, " where ", from + i, " was due");
    }
    StreamVersion& version = next.next_version[e.stream];
    if (e.stream_version != version) {
      return Fault("position ", e.position, " holds version ", e.stream_version, " of stream ",
                   e.stream, " where version ", version, " was due");
    }
    ++version;
    const auto [it, inserted] = next.position_of.emplace(e.event_id, e.position);
    if (!inserted) {
      return Fault("event id ", e.event_id.ToString(), " at positions ", it->second, " and ",
                   e.position);
    }
    if (e.type != kEventType || e.content_type != kContentType ||
        e.data != PayloadFor(e.event_id)) {
      return Fault("position ", e.position, " holds type '", e.type, "', content type '",
                   e.content_type, "' and ", e.data.size(),
                   " bytes of data: not what the crash child writes for id ",
                   e.event_id.ToString());
    }
  }
  if (full) {
    for (const auto& [id, position] : verified_.position_of) {
      auto it = next.position_of.find(id);
      if (it == next.position_of.end() || it->second != position) {
        return Fault("event ", id.ToString(), " stored at position ", position,
                     " at an earlier check is no longer there");
      }
    }
  }

  // Each stream: its head, and its new events through the stream index.
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = absl::StrCat(stream_prefix_, s);
    auto known = next.next_version.find(stream);
    const StreamVersion count = known == next.next_version.end() ? 0 : known->second;
    absl::StatusOr<std::optional<StreamVersion>> stream_head = log.StreamLastVersion(stream);
    if (!stream_head.ok()) {
      return Failed(absl::StrCat("StreamLastVersion ", stream), stream_head.status());
    }
    const std::optional<StreamVersion> expected_head =
        count == 0 ? std::nullopt : std::optional<StreamVersion>(count - 1);
    if (*stream_head != expected_head) {
      return Fault(stream, ": StreamLastVersion says ", HeadText(*stream_head), ", ReadAll found ",
                   HeadText(expected_head));
    }
    ReadStreamOptions stream_read;
    if (!full) {
      auto before = verified_.next_version.find(stream);
      stream_read.from_version = before == verified_.next_version.end() ? 0 : before->second;
    }
    absl::StatusOr<std::vector<RecordedEvent>> events = log.ReadStream(stream, stream_read);
    if (!events.ok()) return Failed(absl::StrCat("ReadStream ", stream), events.status());
    if (events->size() != count - stream_read.from_version) {
      return Fault(stream, ": ReadStream from version ", stream_read.from_version, " returned ",
                   events->size(), " events, ReadAll found ", count - stream_read.from_version);
    }
    for (size_t v = 0; v < events->size(); ++v) {
      const RecordedEvent& e = (*events)[v];
      if (e.stream_version != stream_read.from_version + v || e.position < from ||
          e.position > head || e != (*tail)[e.position - from]) {
        return Fault(stream, ": ReadStream's event ", v, " (version ", e.stream_version,
                     ", position ", e.position, ") is not the one ReadAll found there");
      }
    }
  }

  // Acknowledged events at their reported places.
  auto check_ack = [&](const Ack& ack) -> absl::Status {
    const StreamVersion first_version = ack.last_version + 1 - ack.ids.size();
    for (size_t i = 0; i < ack.ids.size(); ++i) {
      const GlobalPosition position = ack.first_position + i;
      ++outcome->checked;
      std::string problem;
      if (position > head) {
        problem = absl::StrCat("acknowledged event ", ack.ids[i].ToString(), " at position ",
                               position, " lost: the head is ", head);
      } else {
        const RecordedEvent* stored = nullptr;
        RecordedEvent read_back;
        if (position >= from) {
          stored = &(*tail)[position - from];
        } else {
          absl::StatusOr<RecordedEvent> e = log.ReadEvent(position);
          if (!e.ok()) return Failed(absl::StrCat("ReadEvent ", position), e.status());
          read_back = *std::move(e);
          stored = &read_back;
        }
        if (stored->event_id != ack.ids[i] || stored->stream != ack.stream ||
            stored->stream_version != first_version + i) {
          problem = absl::StrCat("acknowledged event ", ack.ids[i].ToString(), " (", ack.stream,
                                 " v", first_version + i, ") at position ", position,
                                 ": the position holds ", stored->event_id.ToString(), " (",
                                 stored->stream, " v", stored->stream_version, ")");
        }
      }
      if (!problem.empty()) {
        if (outcome->lost == 0) outcome->first_loss = problem;
        ++outcome->lost;
      }
    }
    return absl::OkStatus();
  };
  if (full) {
    for (const Ack& ack : acks) STRATA_RETURN_IF_ERROR(check_ack(ack));
  } else {
    for (size_t i = new_from; i < acks.size(); ++i) STRATA_RETURN_IF_ERROR(check_ack(acks[i]));
    if (new_from > 0) {
      std::uniform_int_distribution<size_t> pick(0, new_from - 1);
      for (int k = 0; k < sample; ++k) STRATA_RETURN_IF_ERROR(check_ack(acks[pick(*rng)]));
    }
  }
  if (full) {
    const absl::Status verified = log.VerifyChecksums();
    if (!verified.ok()) return Failed("VerifyChecksums", verified);
  }
  next.head = head;
  verified_ = std::move(next);
  return absl::OkStatus();
}

}  // namespace strata::crashtest

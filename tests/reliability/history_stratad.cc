#include "tests/reliability/history_stratad.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "links/links.h"

namespace strata::reliability {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout);
}

// The N of the first "(port N)" after `marker` in `out`, or 0.
int PortAfter(const std::string& out, const char* marker) {
  const size_t line = out.find(marker);
  const size_t p = line == std::string::npos ? line : out.find("(port ", line);
  const size_t end = p == std::string::npos ? p : out.find(')', p);
  int port = 0;
  if (end == std::string::npos || !absl::SimpleAtoi(out.substr(p + 6, end - p - 6), &port)) {
    return 0;
  }
  return port;
}

// Parses "stratad listening on ... (port N), data directory '...', recovered
// head position P".
bool ParseStartLine(const std::string& out, int* port, uint64_t* head) {
  const size_t line = out.find("stratad listening on ");
  if (line == std::string::npos) return false;
  const size_t h = out.find("recovered head position ", line);
  if (h == std::string::npos) return false;
  size_t h_end = h + std::strlen("recovered head position ");
  const size_t h_begin = h_end;
  while (h_end < out.size() && out[h_end] >= '0' && out[h_end] <= '9') ++h_end;
  // The number must be complete: followed by something that is not a digit.
  if (h_end >= out.size() || h_end == h_begin) return false;
  *port = PortAfter(out, "stratad listening on ");
  return *port != 0 && absl::SimpleAtoi(out.substr(h_begin, h_end - h_begin), head);
}

std::string ReadFrom(const std::string& path, long offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(offset);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StratadProcess>> StratadProcess::Start(const Options& options) {
  std::unique_ptr<StratadProcess> p(new StratadProcess());
  p->log_path_ = options.log_path;
  const int log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", options.log_path));
  struct stat st;
  p->log_offset_ = fstat(log_fd, &st) == 0 ? static_cast<long>(st.st_size) : 0;

  // Everything the child needs is built before fork: after it, the child of a
  // multi-threaded parent may only make async-signal-safe calls.
  std::vector<std::string> args = {options.binary, "--data_dir",       options.data_dir, "--listen",
                                   "127.0.0.1:0",  "--kurrent_listen", "127.0.0.1:0",
                                   "--http_listen", "127.0.0.1:0"};
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "STRATA_CRASH_POINT=", 19) == 0) continue;  // only when asked
    env_strings.emplace_back(*e);
  }
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    ::close(log_fd);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(log_fd);
  p->pid_ = pid;

  const absl::Time deadline = absl::Now() + options.start_timeout;
  while (true) {
    const std::string out = p->Output();
    int port = 0;
    uint64_t head = 0;
    if (ParseStartLine(out, &port, &head)) {
      p->port_ = port;
      p->recovered_head_ = head;
      // Printed before the start line when stratad serves the protocol.
      p->kurrent_port_ = PortAfter(out, "KurrentDB protocol listening on ");
      return p;
    }
    if (p->Poll().has_value()) return p;  // exited before listening
    if (absl::Now() > deadline) {
      p->Kill9();
      return absl::DeadlineExceededError(
          absl::StrCat("stratad did not start within ", absl::FormatDuration(options.start_timeout),
                       "; output:\n", out));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

StratadProcess::~StratadProcess() {
  if (pid_ > 0 && !exit_code_.has_value()) Kill9();
}

std::string StratadProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string StratadProcess::kurrent_address() const {
  return kurrent_port_ == 0 ? "" : absl::StrCat("127.0.0.1:", kurrent_port_);
}

std::optional<int> StratadProcess::Poll() {
  if (exit_code_.has_value() || pid_ <= 0) return exit_code_;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_code_ = DecodeWaitStatus(status);
  return exit_code_;
}

std::optional<int> StratadProcess::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Poll().has_value()) {
    if (absl::Now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return exit_code_;
}

int StratadProcess::Kill9() {
  if (exit_code_.has_value() || pid_ <= 0) return exit_code_.value_or(-1);
  kill(pid_, SIGKILL);
  int status = 0;
  if (waitpid(pid_, &status, 0) == pid_) exit_code_ = DecodeWaitStatus(status);
  return exit_code_.value_or(-1);
}

std::optional<int> StratadProcess::Terminate(absl::Duration timeout) {
  if (exit_code_.has_value() || pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  std::optional<int> code = WaitExit(timeout);
  if (!code.has_value()) {
    Kill9();
    return std::nullopt;
  }
  return code;
}

std::string StratadProcess::Output() const { return ReadFrom(log_path_, log_offset_); }

// ---- Calls ----

Outcome Classify(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return Outcome::kOk;
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return Outcome::kFail;
    default:
      return Outcome::kInfo;
  }
}

std::string StatusText(const grpc::Status& status) {
  static constexpr const char* kNames[] = {
      "OK",          "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int code = static_cast<int>(status.error_code());
  const char* name = code >= 0 && code <= 16 ? kNames[code] : "?";
  return absl::StrCat(name, ": ", status.error_message());
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // A killed server must fail calls at once, not after a reconnect backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::string NewEventId(uint64_t* rng_state) {
  // splitmix64: fast, and seeded per thread by the caller.
  auto next = [rng_state] {
    uint64_t z = (*rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  uint8_t b[16];
  const uint64_t a = next();
  const uint64_t c = next();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(a >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(c >> (8 * i));
  }
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

namespace {

strata::v1::ExpectedVersion::Kind ToProtoKind(ExpectedKind kind) {
  switch (kind) {
    case ExpectedKind::kAny:
      return strata::v1::ExpectedVersion::ANY;
    case ExpectedKind::kNoStream:
      return strata::v1::ExpectedVersion::NO_STREAM;
    case ExpectedKind::kStreamExists:
      return strata::v1::ExpectedVersion::STREAM_EXISTS;
    case ExpectedKind::kExact:
      return strata::v1::ExpectedVersion::EXACT;
  }
  return strata::v1::ExpectedVersion::KIND_UNSPECIFIED;
}

// Records the completion of a unary call that returns positions.
void RecordCompletion(History& history, uint64_t id, const grpc::Status& status,
                      uint64_t first_position, uint64_t last_position, uint64_t last_version,
                      bool deduplicated) {
  switch (Classify(status)) {
    case Outcome::kOk:
      history.CompleteOk(id, first_position, last_position, last_version, deduplicated);
      break;
    case Outcome::kFail:
      history.CompleteFail(id, StatusText(status));
      break;
    default:
      history.CompleteInfo(id, StatusText(status));
      break;
  }
}

// Invokes `op` in the history, makes the command call (`call` with a
// context carrying the deadline) and records its outcome.
template <typename Call>
grpc::Status RecordedCommand(History& history, Op op, absl::Duration timeout,
                             strata::v1::CommandResponse* response, uint64_t* op_id, Call call) {
  strata::v1::CommandResponse local;
  if (response == nullptr) response = &local;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  const uint64_t id = history.Invoke(std::move(op));
  if (op_id != nullptr) *op_id = id;
  const grpc::Status status = call(&ctx, response);
  RecordCompletion(history, id, status, response->position(), response->position(),
                   response->version(), false);
  return status;
}

}  // namespace

grpc::Status RecordedAppend(History& history, strata::v1::Streams::Stub& stub, Op op,
                            absl::Duration timeout, strata::v1::AppendResponse* response,
                            uint64_t* op_id) {
  op.type = OpType::kAppend;
  strata::v1::AppendRequest request;
  request.set_stream(op.stream);
  request.mutable_expected_version()->set_kind(ToProtoKind(op.expected_kind));
  request.mutable_expected_version()->set_version(op.expected_version);
  for (size_t i = 0; i < op.event_ids.size(); ++i) {
    auto* e = request.add_events();
    e->set_event_id(op.event_ids[i]);
    e->set_type("HistoryEvent");
    e->set_content_type("text/plain");
    e->set_data(i < op.payloads.size() ? op.payloads[i] : "");
  }
  strata::v1::AppendResponse local;
  if (response == nullptr) response = &local;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  const uint64_t id = history.Invoke(std::move(op));
  if (op_id != nullptr) *op_id = id;
  const grpc::Status status = stub.Append(&ctx, request, response);
  RecordCompletion(history, id, status, response->first_position(), response->last_position(),
                   response->last_version(), response->deduplicated());
  return status;
}

grpc::Status RecordedKurrentAppend(History& history,
                                   event_store::client::streams::Streams::Stub& stub, Op op,
                                   absl::Duration timeout, uint64_t* last_version) {
  namespace es = event_store::client;
  op.type = OpType::kAppend;
  es::streams::AppendReq options;
  es::streams::AppendReq::Options* o = options.mutable_options();
  o->mutable_stream_identifier()->set_stream_name(op.stream);
  switch (op.expected_kind) {
    case ExpectedKind::kAny:
      o->mutable_any();
      break;
    case ExpectedKind::kNoStream:
      o->mutable_no_stream();
      break;
    case ExpectedKind::kStreamExists:
      o->mutable_stream_exists();
      break;
    case ExpectedKind::kExact:
      o->set_revision(op.expected_version);
      break;
  }
  std::vector<es::streams::AppendReq> events(op.event_ids.size());
  for (size_t i = 0; i < op.event_ids.size(); ++i) {
    es::streams::AppendReq::ProposedMessage* e = events[i].mutable_proposed_message();
    e->mutable_id()->set_string(op.event_ids[i]);
    (*e->mutable_metadata())["type"] = "HistoryEvent";
    (*e->mutable_metadata())["content-type"] = "text/plain";
    e->set_data(i < op.payloads.size() ? op.payloads[i] : "");
  }
  const uint64_t n = op.event_ids.size();
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  const uint64_t id = history.Invoke(std::move(op));
  es::streams::AppendResp response;
  grpc::Status status;
  {
    auto writer = stub.Append(&ctx, &response);
    bool sent = writer->Write(options);
    for (size_t i = 0; sent && i < events.size(); ++i) sent = writer->Write(events[i]);
    if (sent) writer->WritesDone();
    status = writer->Finish();
  }
  // KurrentDB answers a stale expected revision as an OK call.
  if (status.ok() && response.has_wrong_expected_version()) {
    status = grpc::Status(grpc::StatusCode::ABORTED, "wrong expected version");
  }
  const uint64_t last = response.success().position().commit_position();
  RecordCompletion(history, id, status, last - n + 1, last, response.success().current_revision(),
                   false);
  if (last_version != nullptr) *last_version = response.success().current_revision();
  return status;
}

std::string LinkCreatedPayload(const std::string& link_id) {
  return links::EncodeLinkCreated(link_id, absl::StrCat("https://example.com/", link_id),
                                  "history");
}

std::string ClickPayload(const Op& click) {
  return links::EncodeClickRecorded(click.link_id, click.country, click.device,
                                    click.clicked_at_us);
}

strata::v1::Device DeviceOf(const std::string& name) {
  if (name == "desktop") return strata::v1::DESKTOP;
  if (name == "mobile") return strata::v1::MOBILE;
  if (name == "tablet") return strata::v1::TABLET;
  if (name == "bot") return strata::v1::BOT;
  if (name == "other") return strata::v1::OTHER;
  return strata::v1::DEVICE_UNSPECIFIED;
}

grpc::Status RecordedCreateLink(History& history, strata::v1::LinkCommands::Stub& stub, Op op,
                                absl::Duration timeout, strata::v1::CommandResponse* response,
                                uint64_t* op_id) {
  op.type = OpType::kCreateLink;
  op.stream = links::LinkStream(op.link_id);
  op.expected_kind = ExpectedKind::kNoStream;
  op.payloads = {LinkCreatedPayload(op.link_id)};
  op.destination = absl::StrCat("https://example.com/", op.link_id);
  strata::v1::CreateLinkRequest request;
  request.set_link_id(op.link_id);
  request.set_destination(absl::StrCat("https://example.com/", op.link_id));
  request.set_owner("history");
  request.set_request_id(op.request_id);
  return RecordedCommand(history, std::move(op), timeout, response, op_id,
                         [&](grpc::ClientContext* ctx, strata::v1::CommandResponse* out) {
                           return stub.CreateLink(ctx, request, out);
                         });
}

grpc::Status RecordedUpdateDestination(History& history, strata::v1::LinkCommands::Stub& stub,
                                       Op op, absl::Duration timeout,
                                       strata::v1::CommandResponse* response, uint64_t* op_id) {
  op.type = OpType::kUpdateDestination;
  op.stream = links::LinkStream(op.link_id);
  if (op.expected_kind != ExpectedKind::kExact) op.expected_kind = ExpectedKind::kStreamExists;
  op.payloads = {links::EncodeDestinationUpdated(op.link_id, op.destination)};
  strata::v1::UpdateDestinationRequest request;
  request.set_link_id(op.link_id);
  request.set_destination(op.destination);
  if (op.expected_kind == ExpectedKind::kExact) request.set_expected_version(op.expected_version);
  request.set_request_id(op.request_id);
  return RecordedCommand(history, std::move(op), timeout, response, op_id,
                         [&](grpc::ClientContext* ctx, strata::v1::CommandResponse* out) {
                           return stub.UpdateDestination(ctx, request, out);
                         });
}

grpc::Status RecordedClick(History& history, strata::v1::LinkCommands::Stub& stub, Op op,
                           absl::Duration timeout, strata::v1::CommandResponse* response,
                           uint64_t* op_id) {
  op.type = OpType::kRecordClick;
  op.stream = links::ClickStream(op.link_id);
  op.expected_kind = ExpectedKind::kAny;
  op.payloads = {ClickPayload(op)};
  strata::v1::RecordClickRequest request;
  request.set_link_id(op.link_id);
  request.set_country(op.country);
  request.set_device(DeviceOf(op.device));
  if (op.clicked_at_us != 0) request.set_clicked_at(op.clicked_at_us);
  request.set_request_id(op.request_id);
  return RecordedCommand(history, std::move(op), timeout, response, op_id,
                         [&](grpc::ClientContext* ctx, strata::v1::CommandResponse* out) {
                           return stub.RecordClick(ctx, request, out);
                         });
}

absl::Status CreateModelLinks(History& history, const std::string& address,
                              ModelQueries* queries) {
  auto commands = strata::v1::LinkCommands::NewStub(NewChannel(address));
  for (const std::string& link : queries->links) {
    Op op;
    op.link_id = link;
    op.request_id = absl::StrCat("create-", link);
    strata::v1::CommandResponse response;
    const grpc::Status s = RecordedCreateLink(history, *commands, op, absl::Seconds(10), &response);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat("CreateLink ", link, ": ", StatusText(s)));
    }
    queries->min_as_of = std::max<uint64_t>(queries->min_as_of, response.position());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> ReadStreamHead(strata::v1::Streams::Stub& stub,
                                                       const std::string& stream,
                                                       absl::Duration timeout) {
  strata::v1::ReadStreamRequest request;
  request.set_stream(stream);
  request.set_backwards(true);
  request.set_max_count(1);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  auto reader = stub.ReadStream(&ctx, request);
  strata::v1::ReadStreamResponse message;
  std::optional<uint64_t> head;
  while (reader->Read(&message)) {
    for (const strata::v1::RecordedEvent& e : message.events()) head = e.version();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return absl::UnavailableError(StatusText(status));
  return head;
}

absl::StatusOr<std::vector<LogEvent>> ReadAllEvents(const std::string& address,
                                                    absl::Duration timeout) {
  auto stub = strata::v1::Streams::NewStub(NewChannel(address));
  strata::v1::ReadAllRequest request;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  auto reader = stub->ReadAll(&ctx, request);
  strata::v1::ReadAllResponse message;
  std::vector<LogEvent> out;
  while (reader->Read(&message)) {
    for (strata::v1::RecordedEvent& e : *message.mutable_events()) {
      LogEvent event;
      event.position = e.position();
      event.stream = std::move(*e.mutable_stream());
      event.version = e.version();
      event.event_id = std::move(*e.mutable_event_id());
      event.type = std::move(*e.mutable_type());
      event.data = std::move(*e.mutable_data());
      event.recorded_at_us = e.recorded_at();
      out.push_back(std::move(event));
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("ReadAll: ", StatusText(status)));
  }
  return out;
}

absl::StatusOr<uint64_t> ReadHead(const std::string& address) {
  auto stub = strata::v1::Streams::NewStub(NewChannel(address));
  strata::v1::ReadAllRequest request;
  request.set_backwards(true);
  request.set_max_count(1);
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(absl::Seconds(10)));
  auto reader = stub->ReadAll(&ctx, request);
  strata::v1::ReadAllResponse message;
  uint64_t head = 0;
  while (reader->Read(&message)) {
    for (const strata::v1::RecordedEvent& e : message.events()) {
      head = std::max<uint64_t>(head, e.position());
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return absl::UnavailableError(absl::StrCat("ReadAll: ", StatusText(status)));
  return head;
}

ReadModelAnswer QueryLinkModels(const std::shared_ptr<grpc::Channel>& channel, const std::string& link_id,
                                const std::string& from_date, const std::string& to_date,
                                std::optional<uint64_t> min_position,
                                std::optional<uint64_t> as_of, bool with_link_version,
                                absl::Duration timeout) {
  auto stub = strata::v1::LinkQueries::NewStub(channel);
  ReadModelAnswer a;
  a.link_id = link_id;
  a.as_of = as_of;
  a.from_date = from_date;
  a.to_date = to_date;
  strata::v1::GetLinkAnalyticsRequest request;
  request.set_link_id(link_id);
  request.set_from_date(from_date);
  request.set_to_date(to_date);
  if (min_position.has_value()) request.set_min_position(*min_position);
  if (as_of.has_value()) request.set_as_of_position(*as_of);
  strata::v1::GetLinkAnalyticsResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(timeout));
  const grpc::Status status = stub->GetLinkAnalytics(&ctx, request, &response);
  if (!status.ok()) {
    a.error = absl::StrCat("GetLinkAnalytics: ", StatusText(status));
    return a;
  }
  a.position = response.position();
  a.total_clicks = response.total_clicks();
  a.all_time_clicks = response.all_time_clicks();
  for (const auto& d : response.by_day()) a.by_day.emplace_back(d.date(), d.clicks());
  for (const auto& k : response.by_country()) a.by_country.emplace_back(k.key(), k.clicks());
  for (const auto& k : response.by_device()) a.by_device.emplace_back(k.key(), k.clicks());
  if (with_link_version) {
    strata::v1::GetLinkRequest link_request;
    link_request.set_link_id(link_id);
    link_request.set_as_of_position(a.position);
    strata::v1::GetLinkResponse link_response;
    grpc::ClientContext link_ctx;
    link_ctx.set_deadline(DeadlineIn(timeout));
    const grpc::Status s = stub->GetLink(&link_ctx, link_request, &link_response);
    if (!s.ok()) {
      a.error = absl::StrCat("GetLink as of ", a.position, ": ", StatusText(s));
      return a;
    }
    if (link_response.position() != a.position) {
      a.error = absl::StrCat("GetLink as of ", a.position, " answered at position ",
                             link_response.position());
      return a;
    }
    a.link_version = link_response.version();
    a.link_destination = link_response.destination();
    a.link_created_at_us = link_response.created_at();
    a.link_updated_at_us = link_response.updated_at();
  }
  return a;
}

absl::Status DefineProjection(const std::string& address, const std::string& definition_json) {
  strata::v1::DefineProjectionRequest request;
  if (!google::protobuf::util::JsonStringToMessage(definition_json, request.mutable_definition())
           .ok()) {
    return absl::InvalidArgumentError("definition JSON does not parse");
  }
  auto stub = strata::v1::Projections::NewStub(NewChannel(address));
  strata::v1::DefineProjectionResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(DeadlineIn(absl::Seconds(20)));
  const grpc::Status status = stub->DefineProjection(&ctx, request, &response);
  if (!status.ok()) return absl::UnavailableError(StatusText(status));
  return absl::OkStatus();
}

std::string ShippedClicksDefinition() {
  std::ifstream in(std::string(STRATA_SOURCE_DIR) + "/examples/projections/link_clicks.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ClicksScriptDefinition() {
  return R"json({"name": "clicks_script", "source": {"stream_prefixes": ["clicks-"]},
    "script": {"partition_by": "stream", "lua":
      "function init() return {n = 0} end\non = {}\nfunction on.ClickRecorded(s, e) s.n = s.n + 1 end\n"}})json";
}

std::vector<std::string> CheckDefinedClicks(const std::string& address,
                                            const ModelQueries& queries, uint64_t head) {
  std::vector<std::string> violations;
  const std::shared_ptr<grpc::Channel> channel = NewChannel(address);
  auto rows = strata::v1::ProjectionQueries::NewStub(channel);
  for (const std::string& link : queries.links) {
    const ReadModelAnswer built_in = QueryLinkModels(channel, link, queries.from_date,
                                                     queries.to_date, head, std::nullopt, false);
    if (!built_in.error.empty()) {
      violations.push_back(absl::StrCat("link_clicks of ", link, ": ", built_in.error));
      continue;
    }
    // Every day row of the link, and its all-time row, at the same head.
    strata::v1::ScanRowsRequest scan;
    scan.set_projection("clicks");
    scan.add_key_prefix("d");
    scan.add_key_prefix(link);
    scan.set_limit(1000);
    scan.set_min_position(head);
    strata::v1::ScanRowsResponse days;
    grpc::ClientContext scan_ctx;
    scan_ctx.set_deadline(DeadlineIn(absl::Seconds(30)));
    grpc::Status s = rows->Scan(&scan_ctx, scan, &days);
    strata::v1::GetRowRequest get;
    get.set_projection("clicks");
    get.add_key("t");
    get.add_key(link);
    get.set_min_position(head);
    strata::v1::GetRowResponse total;
    grpc::ClientContext get_ctx;
    get_ctx.set_deadline(DeadlineIn(absl::Seconds(30)));
    if (s.ok()) s = rows->Get(&get_ctx, get, &total);
    if (!s.ok()) {
      violations.push_back(absl::StrCat("defined clicks of ", link, ": ", StatusText(s)));
      continue;
    }
    const int64_t defined_total =
        total.has_row() ? total.row().values().at("clicks").int64_value() : 0;
    if (defined_total != static_cast<int64_t>(built_in.all_time_clicks)) {
      violations.push_back(absl::StrCat("defined clicks of ", link, ": all-time ", defined_total,
                                        ", the built-in link_clicks says ",
                                        built_in.all_time_clicks, " at position ", head));
    }
    strata::v1::GetRowRequest script_get;
    script_get.set_projection("clicks_script");
    script_get.add_key("state");
    script_get.add_key(absl::StrCat("clicks-", link));
    script_get.set_min_position(head);
    strata::v1::GetRowResponse script_state;
    grpc::ClientContext script_ctx;
    script_ctx.set_deadline(DeadlineIn(absl::Seconds(30)));
    s = rows->Get(&script_ctx, script_get, &script_state);
    const std::string want = absl::StrCat(R"({"n":)", built_in.all_time_clicks, "}");
    const std::string got = !s.ok() ? StatusText(s)
                            : script_state.has_row()
                                ? script_state.row().values().at("state").json_value()
                                : R"({"n":0})";
    if (got != want) {
      violations.push_back(absl::StrCat("clicks_script of ", link, ": ", got,
                                        ", the built-in link_clicks says ", want, " at ", head));
    }
    std::map<std::string, int64_t> defined_days;
    for (const auto& row : days.rows()) {
      defined_days[row.key(2)] = row.values().at("clicks").int64_value();
    }
    for (const auto& [date, clicks] : built_in.by_day) {
      const auto it = defined_days.find(date);
      const int64_t got = it == defined_days.end() ? 0 : it->second;
      if (got != static_cast<int64_t>(clicks)) {
        violations.push_back(absl::StrCat("defined clicks of ", link, " on ", date, ": ", got,
                                          ", the built-in link_clicks says ", clicks));
      }
    }
  }
  return violations;
}

CheckReport CheckServer(const std::string& address, uint64_t head, const History& history,
                        Checker& checker, const std::vector<const SubscriberLog*>& subscribers,
                        const ModelQueries& queries, uint64_t random,
                        std::vector<ReadModelAnswer> load_answers, CheckTimings* timings) {
  CheckTimings local;
  if (timings == nullptr) timings = &local;
  absl::Time t0 = absl::Now();
  absl::StatusOr<std::vector<LogEvent>> log = ReadAllEvents(address);
  timings->read += absl::Now() - t0;
  if (!log.ok()) {
    CheckReport r;
    r.violations.push_back(absl::StrCat("rule 5 (", RuleName(5), "): the full read failed: ",
                                        log.status().ToString()));
    return r;
  }
  std::vector<ReadModelAnswer> models = std::move(load_answers);
  t0 = absl::Now();
  auto channel = NewChannel(address);
  for (const std::string& link : queries.links) {
    models.push_back(QueryLinkModels(channel, link, queries.from_date, queries.to_date, head,
                                     std::nullopt, /*with_link_version=*/true));
    if (queries.min_as_of != 0 && head >= queries.min_as_of) {
      const uint64_t as_of = queries.min_as_of + random % (head - queries.min_as_of + 1);
      models.push_back(QueryLinkModels(channel, link, queries.from_date, queries.to_date,
                                       std::nullopt, as_of, /*with_link_version=*/true));
      random = random * 6364136223846793005ULL + 1442695040888963407ULL;
    }
  }
  timings->models += absl::Now() - t0;
  t0 = absl::Now();
  CheckReport report = checker.Check(history.Snapshot(), *log, head, subscribers, models);
  timings->checker += absl::Now() - t0;
  return report;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t parsed = 0;
  if (value != nullptr && absl::SimpleAtoi(value, &parsed) && parsed > 0) return parsed;
  return fallback;
}

}  // namespace strata::reliability

// strata projections define FILE.json | definition NAME | delete NAME
//                     | get NAME KEY... | scan NAME [PREFIX...]
// Read models defined at run time, through a running server.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/defined_api.h"
#include "google/protobuf/util/json_util.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

std::vector<FlagSpec> ServerFlags() { return {ServerFlag(), JsonFlag(), TimeoutFlag()}; }

std::vector<FlagSpec> QueryFlags() {
  std::vector<FlagSpec> f = ServerFlags();
  f.push_back({"as-of", "POSITION", "the answer as of this log position (time travel)", false});
  f.push_back({"min-position", "POSITION",
               "wait (up to --timeout) until the projection has applied this position", false});
  return f;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return LocalError(absl::StatusCode::kNotFound, absl::StrCat(path, ": cannot read the file"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string DefinitionJson(const v1::ProjectionDefinition& definition, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(definition, &out, options).ok()) return "{}";
  return out;
}

std::string KeyText(const v1::Row& row) {
  return absl::StrJoin(row.key(), " / ");
}

void WriteRow(JsonWriter& w, const v1::Row& row) {
  w.BeginObject().Key("key").BeginArray();
  for (const std::string& part : row.key()) w.String(part);
  w.EndArray().Key("values").BeginObject();
  const std::map<std::string, v1::RowValue> sorted(row.values().begin(), row.values().end());
  for (const auto& [name, value] : sorted) w.Key(name).Raw(api::RowValueJson(value));
  w.EndObject().EndObject();
}

std::string RowsTable(const std::vector<v1::Row>& rows) {
  std::set<std::string> fields;
  for (const v1::Row& row : rows) {
    for (const auto& [name, value] : row.values()) fields.insert(name);
  }
  std::vector<std::string> header{"KEY"};
  header.insert(header.end(), fields.begin(), fields.end());
  Table t(header);
  for (const v1::Row& row : rows) {
    std::vector<std::string> cells{KeyText(row)};
    for (const std::string& field : fields) {
      auto it = row.values().find(field);
      cells.push_back(it == row.values().end() ? "" : api::RowValueJson(it->second));
    }
    t.AddRow(std::move(cells));
  }
  return t.Render();
}

}  // namespace

const CommandSpec& ProjectionsDefineSpec() {
  static const CommandSpec spec{
      "projections define",
      "FILE.json | FILE.lua --name NAME [--wait] [--json]",
      "Define a read model (or its next version) from a JSON definition or a Lua script.",
      "The server builds it from the start of the log in the background; a changed definition\n"
      "of an existing name becomes its next version, built while the current one answers, then\n"
      "cut over. An identical definition changes nothing. With --wait, follow the build to the\n"
      "cut-over (a progress bar on a terminal). A FILE.lua is a scripted projection (handlers\n"
      "on.<EventType>(state, event) per partition); --name names it. See examples/projections/\n"
      "and the README.",
      [] {
        std::vector<FlagSpec> f = ServerFlags();
        f.push_back({"wait", "", "follow the build until it is live", false});
        f.push_back({"name", "NAME", "FILE.lua: the projection's name", false});
        f.push_back({"partition-by", "HOW",
                     "FILE.lua: stream (default), category, or function (partition(event))",
                     false});
        f.push_back({"stream-prefix", "PREFIX",
                     "FILE.lua: read only streams starting with PREFIX (repeatable)", true});
        f.push_back({"on-bad-event", "POLICY", "FILE.lua: fail (default) or skip", false});
        return f;
      }(),
      1,
      1};
  return spec;
}

const CommandSpec& ProjectionsDefinitionSpec() {
  static const CommandSpec spec{
      "projections definition",
      "NAME [--version V] [--json]",
      "Show a defined projection's definition (the newest, or version V).",
      "",
      [] {
        std::vector<FlagSpec> f = ServerFlags();
        f.push_back({"version", "V", "this projection version instead of the newest", false});
        return f;
      }(),
      1,
      1};
  return spec;
}

const CommandSpec& ProjectionsDeleteSpec() {
  static const CommandSpec spec{
      "projections delete",
      "NAME [--json]",
      "Delete a defined projection: it stops answering and its state is dropped.",
      "Its definitions stay in the log; defining the name again starts at the next version.",
      ServerFlags(),
      1,
      1};
  return spec;
}

const CommandSpec& ProjectionsGetSpec() {
  static const CommandSpec spec{
      "projections get",
      "NAME KEY... [--as-of P] [--min-position P] [--json]",
      "Show one row of a defined projection: every part of its key, then its fields.",
      "",
      QueryFlags(),
      2,
      1 + 8};
  return spec;
}

const CommandSpec& ProjectionsScanSpec() {
  static const CommandSpec spec{
      "projections scan",
      "NAME [PREFIX...] [--limit N] [--as-of P] [--json]",
      "List a defined projection's rows in key order, under a prefix of key parts.",
      "All rows come from one consistent state (one position), across pages.",
      [] {
        std::vector<FlagSpec> f = QueryFlags();
        f.push_back({"limit", "N", "at most N rows (default 100)", false});
        return f;
      }(),
      1,
      1 + 8};
  return spec;
}

int RunProjectionsDefine(const Argv& argv) {
  const CommandSpec& spec = ProjectionsDefineSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  const std::string path = args->positional()[0];
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return Fail(text.status());
  v1::DefineProjectionRequest request;
  if (absl::EndsWith(path, ".lua")) {
    std::optional<std::string> name = args->Get("name");
    if (!name.has_value()) return UsageError(spec, "a FILE.lua needs --name NAME");
    v1::ProjectionDefinition& d = *request.mutable_definition();
    d.set_name(*name);
    d.mutable_script()->set_lua(*text);
    d.mutable_script()->set_partition_by(args->Get("partition-by").value_or(""));
    d.set_on_bad_event(args->Get("on-bad-event").value_or(""));
    for (const std::string& prefix : args->GetAll("stream-prefix")) {
      d.mutable_source()->add_stream_prefixes(prefix);
    }
  } else if (auto s = google::protobuf::util::JsonStringToMessage(
                 *text, request.mutable_definition(), google::protobuf::util::JsonParseOptions());
             !s.ok()) {
    return Fail(LocalError(absl::StatusCode::kInvalidArgument,
                           absl::StrCat(path, ": not a projection definition: ", s.ToString())));
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  const std::string& name = request.definition().name();
  absl::StatusOr<uint64_t> previous_generation = NewestGeneration(c, name);
  if (!previous_generation.ok()) return Fail(previous_generation.status());
  v1::DefineProjectionResponse response;
  {
    auto ctx = c.Context();
    CancelOnInterrupt cancel(ctx.get());
    grpc::Status s = c.projections().DefineProjection(ctx.get(), request, &response);
    if (!s.ok()) return Fail(Explain(c, s));
  }
  if (!response.changed()) {
    if (args->Has("json")) {
      JsonWriter w;
      w.BeginObject().Key("name").String(name);
      w.Key("projection_version").Uint(response.projection_version());
      w.Key("changed").Bool(false).Key("state").String(response.state());
      w.Key("position").Uint(response.position()).EndObject();
      WriteAll(stdout, w.str() + "\n");
    } else {
      WriteAll(stdout, absl::StrCat(name, " v", response.projection_version(),
                                    " is unchanged (", response.state(), ")\n"));
    }
    return kExitOk;
  }
  if (!args->Has("json")) {
    WriteAll(stderr, absl::StrCat("defined ", name, " v", response.projection_version(),
                                  " at position ", FormatCount(response.position()), "\n"));
  }
  return FollowBuild(c, name, *previous_generation, args->Has("wait"), args->Has("json"),
                     absl::StrCat("build ", name, " v", response.projection_version()));
}

int RunProjectionsDefinition(const Argv& argv) {
  const CommandSpec& spec = ProjectionsDefinitionSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  std::optional<uint64_t> version;
  if (!args || !ReadUintsOrExit(spec, *args, {{"version", &version}}, &code)) return code;
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::GetProjectionDefinitionRequest request;
  request.set_name(args->positional()[0]);
  if (version.has_value()) request.set_projection_version(static_cast<uint32_t>(*version));
  v1::GetProjectionDefinitionResponse response;
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  grpc::Status s = c.projections().GetProjectionDefinition(ctx.get(), request, &response);
  if (!s.ok()) return Fail(Explain(c, s));
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("name").String(request.name());
    w.Key("projection_version").Uint(response.projection_version());
    w.Key("position").Uint(response.position());
    w.Key("defined_at").String(FormatTimeExact(response.defined_at()));
    w.Key("deleted").Bool(response.deleted());
    w.Key("definition").Raw(DefinitionJson(response.definition(), false));
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }
  WriteAll(stdout, absl::StrCat("# ", request.name(), " v", response.projection_version(),
                                ", defined at position ", FormatCount(response.position()), " (",
                                FormatTimeHuman(response.defined_at()), ")",
                                response.deleted() ? ", deleted since" : "", "\n",
                                DefinitionJson(response.definition(), true)));
  return kExitOk;
}

int RunProjectionsDelete(const Argv& argv) {
  const CommandSpec& spec = ProjectionsDeleteSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  if (!args) return code;
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::DeleteProjectionRequest request;
  request.set_name(args->positional()[0]);
  v1::DeleteProjectionResponse response;
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  grpc::Status s = c.projections().DeleteProjection(ctx.get(), request, &response);
  if (!s.ok()) return Fail(Explain(c, s));
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("name").String(request.name());
    w.Key("deleted").Bool(true).Key("position").Uint(response.position()).EndObject();
    WriteAll(stdout, w.str() + "\n");
  } else {
    WriteAll(stdout, absl::StrCat("deleted ", request.name(), " at position ",
                                  FormatCount(response.position()), "\n"));
  }
  return kExitOk;
}

int RunProjectionsGet(const Argv& argv) {
  const CommandSpec& spec = ProjectionsGetSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  std::optional<uint64_t> as_of, min_position;
  if (!args ||
      !ReadUintsOrExit(spec, *args, {{"as-of", &as_of}, {"min-position", &min_position}},
                       &code)) {
    return code;
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::GetRowRequest request;
  request.set_projection(args->positional()[0]);
  for (size_t i = 1; i < args->positional().size(); ++i) request.add_key(args->positional()[i]);
  if (as_of.has_value()) request.set_as_of_position(*as_of);
  if (min_position.has_value()) request.set_min_position(*min_position);
  v1::GetRowResponse response;
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  grpc::Status s = c.projection_queries().Get(ctx.get(), request, &response);
  if (!s.ok()) return Fail(Explain(c, s));
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("position").Uint(response.position()).Key("row");
    if (response.has_row()) {
      WriteRow(w, response.row());
    } else {
      w.Null();
    }
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }
  if (!response.has_row()) {
    WriteAll(stdout, absl::StrCat("(no row ", absl::StrJoin(request.key(), " / "),
                                  " at position ", FormatCount(response.position()), ")\n"));
    return kExitOk;
  }
  std::string out = absl::StrCat("key:       ", KeyText(response.row()), "\nposition:  ",
                                 FormatCount(response.position()), "\n");
  const std::map<std::string, v1::RowValue> sorted(response.row().values().begin(),
                                                   response.row().values().end());
  Table t({"FIELD", "VALUE"});
  for (const auto& [name, value] : sorted) t.AddRow({name, api::RowValueJson(value)});
  WriteAll(stdout, out + t.Render());
  return kExitOk;
}

int RunProjectionsScan(const Argv& argv) {
  const CommandSpec& spec = ProjectionsScanSpec();
  int code = 0;
  std::optional<Args> args = ParseOrExit(spec, argv, &code);
  std::optional<uint64_t> as_of, min_position, limit;
  if (!args || !ReadUintsOrExit(spec, *args,
                                {{"as-of", &as_of},
                                 {"min-position", &min_position},
                                 {"limit", &limit}},
                                &code)) {
    return code;
  }
  const uint64_t wanted = limit.value_or(100);
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::ScanRowsRequest request;
  request.set_projection(args->positional()[0]);
  for (size_t i = 1; i < args->positional().size(); ++i) {
    request.add_key_prefix(args->positional()[i]);
  }
  if (as_of.has_value()) request.set_as_of_position(*as_of);
  if (min_position.has_value()) request.set_min_position(*min_position);
  std::vector<v1::Row> rows;
  uint64_t position = 0;
  bool more = false;
  while (rows.size() < wanted) {
    request.set_limit(static_cast<uint32_t>(std::min<uint64_t>(wanted - rows.size(), 1000)));
    v1::ScanRowsResponse response;
    auto ctx = c.Context();
    CancelOnInterrupt cancel(ctx.get());
    grpc::Status s = c.projection_queries().Scan(ctx.get(), request, &response);
    if (!s.ok()) return Fail(Explain(c, s));
    position = response.position();
    rows.insert(rows.end(), response.rows().begin(), response.rows().end());
    more = !response.next_page_token().empty();
    if (!more) break;
    request.set_page_token(response.next_page_token());
    request.clear_min_position();
  }
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject().Key("position").Uint(position).Key("rows").BeginArray();
    for (const v1::Row& row : rows) WriteRow(w, row);
    w.EndArray().Key("more").Bool(more).EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }
  if (rows.empty()) {
    WriteAll(stdout, absl::StrCat("(no rows at position ", FormatCount(position), ")\n"));
    return kExitOk;
  }
  WriteAll(stdout, RowsTable(rows) +
                       absl::StrCat("(", rows.size(), " rows at position ", FormatCount(position),
                                    more ? "; more follow: raise --limit" : "", ")\n"));
  return kExitOk;
}

}  // namespace strata::cli

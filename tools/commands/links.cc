// strata links get LINK | links analytics LINK --from DATE --to DATE
#include "links/links.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/links_api.h"
#include "engine/base/macros.h"
#include "links/queries.h"
#include "tools/commands/commands.h"
#include "tools/commands/common.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

constexpr size_t kBarWidthMax = 40;

std::string Bar(uint64_t clicks, uint64_t max) {
  if (clicks == 0 || max == 0) return "";
  const size_t n = std::max<size_t>(1, static_cast<size_t>(clicks * kBarWidthMax / max));
  return std::string(n, '#');
}

std::string Share(uint64_t part, uint64_t total) {
  if (total == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(total));
}

// Makes the query `call` with the request's positions, on the server, or with
// --data_dir on the data directory opened read-only (`offline`, with the
// position to answer at: --as-of, or else the log's head, so the answer
// reflects the whole log; --min-position only has to be within the log).
template <typename Request, typename Response, typename Call, typename Offline>
absl::Status Query(const Args& args, std::optional<uint64_t> as_of,
                   std::optional<uint64_t> min_position, Request* request, Response* response,
                   Call call, Offline offline) {
  if (std::optional<std::string> dir = args.Get("data-dir"); dir.has_value()) {
    STRATA_ASSIGN_OR_RETURN(OfflineStore store, OpenOfflineStore(*dir));
    const GlobalPosition head = store.log->Head();
    if (min_position.has_value() && *min_position > head) {
      return absl::OutOfRangeError(absl::StrCat("min_position ", *min_position,
                                                " is beyond the head (", head, ")"));
    }
    return offline(*store.runtime, as_of.value_or(head), response);
  }
  if (as_of.has_value()) request->set_as_of_position(*as_of);
  if (min_position.has_value()) request->set_min_position(*min_position);
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(args));
  auto ctx = c->Context();
  CancelOnInterrupt cancel(ctx.get());
  grpc::Status s = call(*c, ctx.get(), *request, response);
  return s.ok() ? absl::OkStatus() : Explain(*c, s);
}

std::vector<FlagSpec> QueryFlags() {
  return {ServerFlag(),
          DataDirFlag("query a data directory, opened read-only in process (the answer is "
                      "as of the log's head unless --as-of says otherwise)"),
          {"as-of", "P", "the answer as it was when the log's head was at position P"},
          {"min-position", "P", "wait until the read models have applied position P"},
          JsonFlag(),
          TimeoutFlag()};
}

}  // namespace

const CommandSpec& LinksGetSpec() {
  static const CommandSpec spec{
      "links get",
      "LINK [--as-of P] [--min-position P] [--json]",
      "Show a link: destination, owner, created and updated times, version.",
      "--as-of P shows the link as it was when the log's head was at position P.",
      QueryFlags(),
      1,
      1};
  return spec;
}

const CommandSpec& LinksAnalyticsSpec() {
  static const CommandSpec spec{
      "links analytics",
      "LINK --from DATE --to DATE [--as-of P] [--min-position P] [--json]",
      "Show a link's clicks per day, country and device (the time-travel query).",
      "DATEs are UTC days, YYYY-MM-DD, inclusive; the range spans at most 366 days.\n"
      "--as-of P is the time-travel query: the dashboard as it was when the log's head was at\n"
      "position P.",
      [] {
        std::vector<FlagSpec> f = QueryFlags();
        f.insert(f.begin() + 2, {"from", "DATE", "first day, YYYY-MM-DD (UTC)"});
        f.insert(f.begin() + 3, {"to", "DATE", "last day, YYYY-MM-DD (UTC)"});
        return f;
      }(),
      1,
      1};
  return spec;
}

int RunLinksGet(const Argv& argv) {
  const CommandSpec& spec = LinksGetSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> as_of, min_position;
  if (!args ||
      !ReadUintsOrExit(spec, *args, {{"as-of", &as_of}, {"min-position", &min_position}},
                       &code)) {
    return code;
  }
  v1::GetLinkRequest request;
  request.set_link_id(args->positional()[0]);
  v1::GetLinkResponse r;
  absl::Status s = Query(
      *args, as_of, min_position, &request, &r,
      [](Connection& c, grpc::ClientContext* ctx, const v1::GetLinkRequest& req,
         v1::GetLinkResponse* out) { return c.queries().GetLink(ctx, req, out); },
      [&](const ProjectionRuntime& runtime, GlobalPosition at,
          v1::GetLinkResponse* out) -> absl::Status {
        STRATA_RETURN_IF_ERROR(links::ValidateLinkId(request.link_id()));
        STRATA_ASSIGN_OR_RETURN(links::LinkAt link,
                                links::QueryLink(runtime, request.link_id(), at));
        api::ToProto(request.link_id(), link, out);
        return absl::OkStatus();
      });
  if (!s.ok()) return Fail(s);
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject();
    w.Key("link_id").String(r.link_id());
    w.Key("destination").String(r.destination());
    w.Key("owner").String(r.owner());
    w.Key("created_at").String(FormatTimeExact(r.created_at()));
    w.Key("updated_at").String(FormatTimeExact(r.updated_at()));
    w.Key("version").Uint(r.version());
    w.Key("position").Uint(r.position());
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }
  std::string out;
  absl::StrAppend(&out, "link:         ", r.link_id(), "\n");
  absl::StrAppend(&out, "destination:  ", r.destination(), "\n");
  absl::StrAppend(&out, "owner:        ", r.owner().empty() ? "-" : r.owner(), "\n");
  absl::StrAppend(&out, "created:      ", FormatTimeHuman(r.created_at()), " UTC\n");
  absl::StrAppend(&out, "updated:      ", FormatTimeHuman(r.updated_at()), " UTC\n");
  absl::StrAppend(&out, "version:      ", r.version(), "\n");
  absl::StrAppend(&out, "as of:        position ", FormatCount(r.position()), "\n");
  WriteAll(stdout, out);
  return kExitOk;
}

int RunLinksAnalytics(const Argv& argv) {
  const CommandSpec& spec = LinksAnalyticsSpec();
  int code = 0;
  std::optional<Args> args = ParseTargetOrExit(spec, argv, &code);
  std::optional<uint64_t> as_of, min_position;
  if (!args ||
      !ReadUintsOrExit(spec, *args, {{"as-of", &as_of}, {"min-position", &min_position}},
                       &code)) {
    return code;
  }
  for (const char* flag : {"from", "to"}) {
    std::optional<std::string> v = args->Get(flag);
    if (!v.has_value()) return UsageError(spec, absl::StrCat("--", flag, " DATE is required"));
    if (!links::ParseDate(*v, flag).ok()) {
      return UsageError(spec, absl::StrCat("--", flag, ": '", *v,
                                           "' is not a date like 2024-03-10 (YYYY-MM-DD)"));
    }
  }
  v1::GetLinkAnalyticsRequest request;
  request.set_link_id(args->positional()[0]);
  request.set_from_date(*args->Get("from"));
  request.set_to_date(*args->Get("to"));
  v1::GetLinkAnalyticsResponse r;
  absl::Status s = Query(
      *args, as_of, min_position, &request, &r,
      [](Connection& c, grpc::ClientContext* ctx, const v1::GetLinkAnalyticsRequest& req,
         v1::GetLinkAnalyticsResponse* out) { return c.queries().GetLinkAnalytics(ctx, req, out); },
      [&](const ProjectionRuntime& runtime, GlobalPosition at,
          v1::GetLinkAnalyticsResponse* out) -> absl::Status {
        STRATA_RETURN_IF_ERROR(links::ValidateLinkId(request.link_id()));
        STRATA_ASSIGN_OR_RETURN(absl::CivilDay from,
                                links::ParseDate(request.from_date(), "from_date"));
        STRATA_ASSIGN_OR_RETURN(absl::CivilDay to, links::ParseDate(request.to_date(), "to_date"));
        STRATA_ASSIGN_OR_RETURN(
            links::LinkAnalyticsAt analytics,
            links::QueryLinkAnalytics(runtime, request.link_id(), from, to, at));
        api::ToProto(request.link_id(), analytics, out);
        return absl::OkStatus();
      });
  if (!s.ok()) return Fail(s);
  if (args->Has("json")) {
    JsonWriter w;
    w.BeginObject();
    w.Key("link_id").String(r.link_id());
    w.Key("from").String(request.from_date());
    w.Key("to").String(request.to_date());
    w.Key("position").Uint(r.position());
    w.Key("total_clicks").Uint(r.total_clicks());
    w.Key("all_time_clicks").Uint(r.all_time_clicks());
    w.Key("by_day").BeginArray();
    for (const auto& d : r.by_day()) {
      w.BeginObject().Key("date").String(d.date()).Key("clicks").Uint(d.clicks()).EndObject();
    }
    w.EndArray();
    w.Key("by_country").BeginArray();
    for (const auto& k : r.by_country()) {
      w.BeginObject().Key("country").String(k.key()).Key("clicks").Uint(k.clicks()).EndObject();
    }
    w.EndArray();
    w.Key("by_device").BeginArray();
    for (const auto& k : r.by_device()) {
      w.BeginObject().Key("device").String(k.key()).Key("clicks").Uint(k.clicks()).EndObject();
    }
    w.EndArray();
    w.EndObject();
    WriteAll(stdout, w.str() + "\n");
    return kExitOk;
  }

  std::string out = absl::StrCat("link ", r.link_id(), ": ", FormatCount(r.total_clicks()),
                                 " clicks from ", request.from_date(), " to ", request.to_date(),
                                 " (", FormatCount(r.all_time_clicks()),
                                 " all time), as of position ", FormatCount(r.position()), "\n\n");
  uint64_t day_max = 0;
  for (const auto& d : r.by_day()) day_max = std::max<uint64_t>(day_max, d.clicks());
  Table days({"DATE", "CLICKS", ""});
  days.AlignRight(1);
  for (const auto& d : r.by_day()) {
    days.AddRow({d.date(), FormatCount(d.clicks()), Bar(d.clicks(), day_max)});
  }
  out += days.Render();
  Table countries({"COUNTRY", "CLICKS", "SHARE"});
  countries.AlignRight(1);
  countries.AlignRight(2);
  for (const auto& k : r.by_country()) {
    countries.AddRow({k.key().empty() ? "(unknown)" : k.key(), FormatCount(k.clicks()),
                      Share(k.clicks(), r.total_clicks())});
  }
  Table devices({"DEVICE", "CLICKS", "SHARE"});
  devices.AlignRight(1);
  devices.AlignRight(2);
  for (const auto& k : r.by_device()) {
    devices.AddRow({k.key(), FormatCount(k.clicks()), Share(k.clicks(), r.total_clicks())});
  }
  out += "\n";
  out += countries.empty() ? "COUNTRY  (no clicks)\n" : countries.Render();
  out += "\n";
  out += devices.empty() ? "DEVICE  (no clicks)\n" : devices.Render();
  WriteAll(stdout, out);
  return kExitOk;
}

}  // namespace strata::cli

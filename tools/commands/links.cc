// strata links get LINK | links analytics LINK --from DATE --to DATE
#include "projections/links/links.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// Sets the request's positions and makes the query (`call` with a context
// that Ctrl-C cancels). Offline, answers reflect the whole log unless the
// caller chose a position.
template <typename Request, typename Call>
grpc::Status Query(Connection& c, std::optional<uint64_t> as_of,
                   std::optional<uint64_t> min_position, Request* request, Call call) {
  if (as_of.has_value()) request->set_as_of_position(*as_of);
  if (min_position.has_value()) request->set_min_position(*min_position);
  if (c.offline() && !request->has_min_position() && !request->has_as_of_position()) {
    request->set_min_position(c.OfflineHead());
  }
  auto ctx = c.Context();
  CancelOnInterrupt cancel(ctx.get());
  return call(ctx.get(), *request);
}

std::vector<FlagSpec> QueryFlags() {
  return {ServerFlag(),
          DataDirFlag("query a stopped server's data directory (read models opened in process, "
                      "caught up with the log first)"),
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
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::GetLinkRequest request;
  request.set_link_id(args->positional()[0]);
  v1::GetLinkResponse r;
  grpc::Status s = Query(c, as_of, min_position, &request,
                         [&](grpc::ClientContext* ctx, const v1::GetLinkRequest& req) {
                           return c.queries().GetLink(ctx, req, &r);
                         });
  if (!s.ok()) return Fail(Explain(c, s));
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
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(*args);
  if (!opened.ok()) return Fail(opened.status());
  Connection& c = **opened;
  v1::GetLinkAnalyticsRequest request;
  request.set_link_id(args->positional()[0]);
  request.set_from_date(*args->Get("from"));
  request.set_to_date(*args->Get("to"));
  v1::GetLinkAnalyticsResponse r;
  grpc::Status s = Query(c, as_of, min_position, &request,
                         [&](grpc::ClientContext* ctx, const v1::GetLinkAnalyticsRequest& req) {
                           return c.queries().GetLinkAnalytics(ctx, req, &r);
                         });
  if (!s.ok()) return Fail(Explain(c, s));

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

// Domain query results -> strata.v1 messages (links_api.h).
#include "api/links_api.h"

#include "absl/time/time.h"

namespace strata::api {

void ToProto(absl::string_view link_id, const links::LinkAt& link,
             strata::v1::GetLinkResponse* out) {
  out->set_link_id(std::string(link_id));
  out->set_destination(link.details.destination);
  out->set_owner(link.details.owner);
  out->set_created_at(link.details.created_at_us);
  out->set_updated_at(link.details.updated_at_us);
  out->set_version(link.details.version);
  out->set_position(link.position);
}

void ToProto(absl::string_view link_id, const links::LinkAnalyticsAt& analytics,
             strata::v1::GetLinkAnalyticsResponse* out) {
  const links::LinkAnalytics& a = analytics.analytics;
  out->set_link_id(std::string(link_id));
  out->set_total_clicks(a.total_clicks);
  for (const auto& [day, clicks] : a.by_day) {
    auto* d = out->add_by_day();
    d->set_date(day);
    d->set_clicks(clicks);
  }
  for (const auto& [key, clicks] : a.by_country) {
    auto* k = out->add_by_country();
    k->set_key(key);
    k->set_clicks(clicks);
  }
  for (const auto& [key, clicks] : a.by_device) {
    auto* k = out->add_by_device();
    k->set_key(key);
    k->set_clicks(clicks);
  }
  out->set_all_time_clicks(a.all_time_clicks);
  out->set_position(analytics.position);
}

void ToProto(const ProjectionStatus& st, strata::v1::ProjectionInfo* p) {
  p->set_name(st.name);
  p->set_version(st.projection_version);  // the API field keeps its name
  p->set_state(GenerationStateName(st.state));
  p->set_checkpoint(st.checkpoint);
  p->set_head(st.head);
  p->set_lag(st.lag);
  p->set_events_per_second(st.events_per_second);
  p->set_progress(st.progress);
  p->set_generation(st.generation);
  if (st.time_left.has_value()) p->set_seconds_left(absl::ToDoubleSeconds(*st.time_left));
  p->set_error(st.error);
  p->set_error_position(st.error_position);
}

}  // namespace strata::api

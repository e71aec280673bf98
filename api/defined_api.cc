// The conversions of defined_api.h: defined projections' values, rows, stored
// definitions and skip counts to strata.v1 messages, and RowValueJson.
#include "api/defined_api.h"

#include "absl/strings/str_cat.h"
#include "engine/base/json_quote.h"

namespace strata::api {

void ToProto(const defined::Value& value, strata::v1::RowValue* out) {
  switch (value.type) {
    case defined::Value::Type::kInt:
      out->set_int64_value(value.i);
      break;
    case defined::Value::Type::kDouble:
      out->set_double_value(value.d);
      break;
    case defined::Value::Type::kString:
      out->set_string_value(value.text);
      break;
    case defined::Value::Type::kBool:
      out->set_bool_value(value.b);
      break;
    case defined::Value::Type::kJson:
      out->set_json_value(value.text);
      break;
  }
}

void ToProto(const defined::Row& row, strata::v1::Row* out) {
  for (const std::string& part : row.key) out->add_key(part);
  for (const auto& [name, value] : row.values) ToProto(value, &(*out->mutable_values())[name]);
}

void ToProto(const defined::StoredDefinition& stored,
             strata::v1::GetProjectionDefinitionResponse* out) {
  *out->mutable_definition() = stored.definition;
  out->set_projection_version(stored.projection_version);
  out->set_position(stored.position);
  out->set_defined_at(stored.defined_at_us);
  out->set_deleted(stored.deleted);
}

void ToProto(const defined::SkipInfo& skipped, strata::v1::ProjectionInfo* out) {
  out->set_defined(true);
  out->set_skipped_events(skipped.skipped);
  out->set_first_skipped_position(skipped.first);
  out->set_last_skipped_position(skipped.last);
  out->set_last_skip_error(skipped.last_error);
}

std::string RowValueJson(const strata::v1::RowValue& value) {
  switch (value.value_case()) {
    case strata::v1::RowValue::kInt64Value:
      return absl::StrCat(value.int64_value());
    case strata::v1::RowValue::kDoubleValue:
      return defined::FormatDouble(value.double_value());
    case strata::v1::RowValue::kStringValue:
      return JsonQuote(value.string_value());
    case strata::v1::RowValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case strata::v1::RowValue::kJsonValue:
      return value.json_value();
    case strata::v1::RowValue::VALUE_NOT_SET:
      break;
  }
  return "null";
}

}  // namespace strata::api

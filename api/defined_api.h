// Defined projections' rows and definitions as strata.v1 messages, shared by
// the server's services and the CLI. Thread-safe (pure functions).
#ifndef STRATA_API_DEFINED_API_H_
#define STRATA_API_DEFINED_API_H_

#include "projections/defined/registry.h"
#include "projections/defined/rows.h"
#include "schemas/strata.pb.h"

namespace strata::api {

void ToProto(const defined::Value& value, strata::v1::RowValue* out);
void ToProto(const defined::Row& row, strata::v1::Row* out);
void ToProto(const defined::StoredDefinition& stored,
             strata::v1::GetProjectionDefinitionResponse* out);
// Adds what only a defined projection has to its ProjectionInfo.
void ToProto(const defined::SkipInfo& skipped, strata::v1::ProjectionInfo* out);

// `value` as JSON text, for the CLI.
std::string RowValueJson(const strata::v1::RowValue& value);

}  // namespace strata::api

#endif  // STRATA_API_DEFINED_API_H_

// RpcService (rpc_service.h): method registration checked against the service
// descriptor, CheckComplete, and DescribeParseFailure, which walks a request's
// wire bytes to name the first string field holding invalid UTF-8.
#include "server/rpc_service.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/base/validate.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "schemas/strata.pb.h"

namespace strata::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr int kNestingMax = 32;

enum class Walk { kClean, kFoundInvalidUtf8, kMalformed };

// Walks one message's fields on the wire, descending into known message
// fields. On kFoundInvalidUtf8, *path names the field. Lengths are checked
// against what is left of the enclosing message, as protobuf's parser does.
Walk FindInvalidUtf8(CodedInputStream* in, const Descriptor& type, const std::string& prefix,
                     int depth, std::string* path) {
  if (depth > kNestingMax) return Walk::kMalformed;
  std::map<int, int> seen;  // field number -> occurrences so far (repeated fields' index)
  for (;;) {
    const uint32_t tag = in->ReadTag();
    if (tag == 0) return in->ConsumedEntireMessage() ? Walk::kClean : Walk::kMalformed;
    const FieldDescriptor* field = type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool inspect =
        field != nullptr &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
        (field->type() == FieldDescriptor::TYPE_STRING ||
         field->type() == FieldDescriptor::TYPE_MESSAGE);
    if (!inspect) {  // other fields, unknown fields (groups too): skipped as the parser does
      if (!WireFormatLite::SkipField(in, tag)) return Walk::kMalformed;
      continue;
    }
    uint64_t length;
    if (!in->ReadVarint64(&length) || in->BytesUntilLimit() < 0 ||
        length > static_cast<uint64_t>(in->BytesUntilLimit())) {
      return Walk::kMalformed;
    }
    std::string name = prefix + field->name();
    if (field->is_repeated()) absl::StrAppend(&name, "[", seen[field->number()]++, "]");
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      std::string value;
      if (!in->ReadString(&value, static_cast<int>(length))) return Walk::kMalformed;
      if (!internal::IsValidUtf8(value)) {
        *path = std::move(name);
        return Walk::kFoundInvalidUtf8;
      }
      continue;
    }
    const CodedInputStream::Limit limit = in->PushLimit(static_cast<int>(length));
    const Walk inner = FindInvalidUtf8(in, *field->message_type(), name + ".", depth + 1, path);
    if (inner != Walk::kClean) return inner;
    in->PopLimit(limit);
  }
}

grpc::Status Describe(const uint8_t* data, size_t size, const Descriptor& type) {
  CodedInputStream in(data, static_cast<int>(size));
  in.PushLimit(static_cast<int>(size));  // so BytesUntilLimit() bounds every length
  std::string path;
  if (FindInvalidUtf8(&in, type, "", 0, &path) == Walk::kFoundInvalidUtf8) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(path, ": not valid UTF-8"));
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("request: not a valid ", type.full_name(), " message"));
}

}  // namespace

grpc::Status DescribeParseFailure(const grpc::ByteBuffer& bytes, const Descriptor& type) {
  grpc::Slice slice;
  if (!bytes.Valid()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "request: no message received");
  }
  if (!bytes.DumpToSingleSlice(&slice).ok()) return Describe(nullptr, 0, type);
  return Describe(slice.begin(), slice.size(), type);
}

grpc::Status DescribeParseFailure(const std::string& bytes, const Descriptor& type) {
  return Describe(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), type);
}

RpcService::RpcService(const char* service)
    : service_(strata::v1::AppendRequest::descriptor()->file()->FindServiceByName(service)) {
  if (service_ == nullptr) {
    std::fprintf(stderr, "strata: internal error: no service %s in strata.proto\n", service);
    std::abort();
  }
}

absl::Status RpcService::CheckComplete() const {
  const size_t registered = paths_.size();  // one path per registered method
  if (registered == static_cast<size_t>(service_->method_count())) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("service ", service_->full_name(), " registers ",
                                          registered, " of its ", service_->method_count(),
                                          " methods"));
}

const std::string* RpcService::NewPath(const char* method) {
  paths_.push_back(absl::StrCat("/", service_->full_name(), "/", method));
  return &paths_.back();
}

void RpcService::Add(const char* method, const std::string& path, const Descriptor& request,
                     const Descriptor& response, grpc::internal::RpcMethod::RpcType type,
                     grpc::internal::RpcServiceMethod::ApiType api,
                     grpc::internal::MethodHandler* handler) {
  const google::protobuf::MethodDescriptor* m = service_->FindMethodByName(method);
  const bool streaming = type == grpc::internal::RpcMethod::SERVER_STREAMING;
  if (m == nullptr || m->input_type() != &request || m->output_type() != &response ||
      m->client_streaming() || m->server_streaming() != streaming) {
    std::fprintf(stderr, "strata: internal error: %s.%s is not registered as declared in %s\n",
                 service_->full_name().c_str(), method, service_->file()->name().c_str());
    std::abort();
  }
  auto* rpc = new grpc::internal::RpcServiceMethod(path.c_str(), type, handler);
  rpc->SetServerApiType(api);
  AddMethod(rpc);
}

}  // namespace strata::server

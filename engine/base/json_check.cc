// CheckJson and IsJsonNumber (json_check.h): simdjson's DOM parse, then, when
// a number is its only complaint, an On-Demand walk that checks each number's
// spelling instead.
#include "engine/base/json_check.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/ascii.h"
#include "simdjson.h"

namespace strata {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

absl::Status Refused(simdjson::error_code e) {
  return absl::InvalidArgumentError(simdjson::error_message(e));
}

bool Digits(absl::string_view s, size_t* i) {
  const size_t start = *i;
  while (*i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[*i]))) ++*i;
  return *i > start;
}

simdjson::error_code NumberToken(std::string_view raw) {
  const absl::string_view token =
      absl::StripTrailingAsciiWhitespace(absl::string_view(raw.data(), raw.size()));
  return IsJsonNumber(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
}

// Checks `v` and everything in it; `depth` counts the containers around it.
simdjson::error_code Walk(od::value v, size_t depth, size_t depth_max) {
  od::json_type type;
  if (auto e = v.type().get(type); e) return e;
  switch (type) {
    case od::json_type::object: {
      if (depth + 1 > depth_max) return simdjson::DEPTH_ERROR;
      od::object o;
      if (auto e = v.get_object().get(o); e) return e;
      for (auto field : o) {
        od::value fv;
        if (auto e = field.error(); e) return e;
        std::string_view key;
        if (auto e = field.unescaped_key().get(key); e) return e;
        if (auto e = field.value().get(fv); e) return e;
        if (auto e = Walk(fv, depth + 1, depth_max); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      if (depth + 1 > depth_max) return simdjson::DEPTH_ERROR;
      od::array a;
      if (auto e = v.get_array().get(a); e) return e;
      for (auto item : a) {
        od::value iv;
        if (auto e = item.get(iv); e) return e;
        if (auto e = Walk(iv, depth + 1, depth_max); e) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number:
      return NumberToken(v.raw_json_token());
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null); e) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

// The On-Demand walk of the whole text, numbers checked by spelling.
simdjson::error_code WalkAll(absl::string_view text, size_t depth_max) {
  thread_local od::parser parser;
  const simdjson::padded_string padded(text.data(), text.size());
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc); e) return e;
  bool scalar = false;
  if (auto e = doc.is_scalar().get(scalar); e) return e;
  if (scalar) {
    od::json_type type;
    if (auto e = doc.type().get(type); e) return e;
    if (type != od::json_type::number) return simdjson::NUMBER_ERROR;  // DOM took the rest
    std::string_view raw;
    if (auto e = doc.raw_json_token().get(raw); e) return e;
    return NumberToken(raw);
  }
  od::value root;
  if (auto e = doc.get_value().get(root); e) return e;
  if (auto e = Walk(root, 0, depth_max); e) return e;
  // Nothing may follow the value: at the end there is no current location.
  const char* after = nullptr;
  return doc.current_location().get(after) != simdjson::SUCCESS ? simdjson::SUCCESS
                                                                : simdjson::TRAILING_CONTENT;
}

}  // namespace

bool IsJsonNumber(absl::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (i >= s.size() || s[i] < '1' || s[i] > '9' || !Digits(s, &i)) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!Digits(s, &i)) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!Digits(s, &i)) return false;
  }
  return i == s.size();
}

absl::Status CheckJson(absl::string_view text, size_t depth_max) {
  if (text.empty()) return Refused(simdjson::EMPTY);
  thread_local dom::parser parser;
  // simdjson refuses a depth equal to its maximum: allow one more.
  if (parser.max_depth() != depth_max + 1 || parser.capacity() < text.size()) {
    if (auto e = parser.allocate(std::max(text.size(), parser.capacity()), depth_max + 1); e) {
      return Refused(e);
    }
  }
  dom::element root;
  simdjson::error_code e = parser.parse(text.data(), text.size()).get(root);
  if (e == simdjson::NUMBER_ERROR) {
    const simdjson::error_code walked = WalkAll(text, depth_max);
    if (walked == simdjson::SUCCESS) return absl::OkStatus();
  }
  return e ? Refused(e) : absl::OkStatus();
}

}  // namespace strata

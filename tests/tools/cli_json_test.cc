// The CLI import's JSON reading: members in order with their exact source
// text, decoded strings and keys, every refusal, and which payloads can be
// embedded in an NDJSON line.
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/json_check.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/commands/json.h"

namespace strata::cli {
namespace {

using ::testing::HasSubstr;
using Type = JsonMember::Type;

// `depth` arrays, one inside the other, the innermost holding 1.
std::string Nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += '[';
  s += '1';
  for (int i = 0; i < depth; ++i) s += ']';
  return s;
}

TEST(CliJsonTest, MembersKeepTheirOrderTypesAndExactText) {
  absl::StatusOr<JsonObject> o = ParseJsonObject(
      " {\"a\": {\"x\" : 1 } , \"b\":[1, 2],\"s\":\"h\\u00e9\\n\",\"k\\u0041\":-1.5e3,"
      "\"t\":true ,\"n\":null,\"a\":7}\n");
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->members.size(), 7u);
  const struct {
    const char* key;
    Type type;
    const char* raw;
  } expected[] = {{"a", Type::kObject, "{\"x\" : 1 }"},
                  {"b", Type::kArray, "[1, 2]"},
                  {"s", Type::kString, "\"h\\u00e9\\n\""},
                  {"kA", Type::kNumber, "-1.5e3"},
                  {"t", Type::kBool, "true"},
                  {"n", Type::kNull, "null"},
                  {"a", Type::kNumber, "7"}};
  for (size_t i = 0; i < o->members.size(); ++i) {
    EXPECT_EQ(o->members[i].key, expected[i].key) << i;
    EXPECT_EQ(o->members[i].type, expected[i].type) << i;
    EXPECT_EQ(o->members[i].raw, expected[i].raw) << i;
  }
  EXPECT_EQ(o->members[2].string_value, "h\xC3\xA9\n");
  EXPECT_EQ(o->Find("a"), &o->members[0]);  // the first of two
  EXPECT_EQ(o->Find("missing"), nullptr);
  absl::StatusOr<JsonObject> empty = ParseJsonObject("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->members.empty());
}

TEST(CliJsonTest, NumbersBeyondSixtyFourBitsAreJsonToo) {
  // simdjson's DOM cannot hold these; they are valid JSON all the same, and
  // an export of an older Strata may carry them.
  absl::StatusOr<JsonObject> o =
      ParseJsonObject(R"({"a":123456789012345678901234567890,"b":[1e400,-0.5E-2],"c":"x"})");
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->members.size(), 3u);
  EXPECT_EQ(o->members[0].raw, "123456789012345678901234567890");
  EXPECT_EQ(o->members[1].raw, "[1e400,-0.5E-2]");
  EXPECT_EQ(o->members[2].string_value, "x");
  EXPECT_TRUE(IsEmbeddableJson(R"({"id":123456789012345678901234567890})"));
  EXPECT_TRUE(IsEmbeddableJson("123456789012345678901234567890"));
  for (const char* bad :
       {R"({"a":123456789012345678901234567890,})", R"({"a":123456789012345678901234567890} x)",
        R"({"a":123456789012345678901234567890,"b":01})", R"({"a":1e400,"b":1.})",
        R"({"a":1e400,"b":-})", R"({"a":1e})"}) {
    EXPECT_FALSE(ParseJsonObject(bad).ok()) << bad;
    EXPECT_FALSE(IsEmbeddableJson(bad)) << bad;
  }
  for (const char* yes :
       {"0", "-0", "12", "1.5", "-1.5e-3", "1E+9", "123456789012345678901234567890"}) {
    EXPECT_TRUE(IsJsonNumber(yes)) << yes;
  }
  for (const char* no : {"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "0x1", "1 "}) {
    EXPECT_FALSE(IsJsonNumber(no)) << no;
  }
}

TEST(CliJsonTest, RefusesWhatIsNotOneJsonObject) {
  const std::string not_json[] = {
      "",
      "{\"position\":3,\"stream\":\"orders-2\"",  // cut short
      "{\"a\":1} x",                              // text after the value
      "{\"a\":1,}",                               // trailing comma
      "{'a':1}",
      "{\"a\":\"\xff\"}",    // invalid UTF-8
      "{\"a\":\"x\x01y\"}",  // an unescaped control character
      "{\"a\":tru}",
      "{\"a\":01}",
      absl::StrCat("{\"a\":", Nested(kJsonDepthMax), "}"),  // nested too deeply
  };
  for (const std::string& text : not_json) {
    absl::StatusOr<JsonObject> o = ParseJsonObject(text);
    ASSERT_FALSE(o.ok()) << text;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(o.status().message()), HasSubstr("not valid JSON: ")) << text;
  }
  for (const char* text : {"[1]", "\"s\"", "12", "null"}) {
    EXPECT_EQ(ParseJsonObject(text).status(), absl::InvalidArgumentError("not a JSON object"))
        << text;
  }
  EXPECT_TRUE(ParseJsonObject(absl::StrCat("{\"a\":", Nested(kJsonDepthMax - 1), "}")).ok());
}

TEST(CliJsonTest, EmbeddableIsOneLineOfValidJsonWithNothingAround) {
  for (const std::string& yes :
       {std::string("{\"a\":1}"), std::string("\"str\""), std::string("12"), std::string("[1, 2]"),
        std::string("{\"a\":\"x\\ny\"}"), Nested(kJsonDepthMax - 8)}) {
    EXPECT_TRUE(IsEmbeddableJson(yes)) << yes;
  }
  for (const std::string& no :
       {std::string(""), std::string("null"), std::string(" {\"a\":1}"), std::string("{\"a\":1}\n"),
        std::string("{\"a\":\n1}"), std::string("{\"a\":\r1}"), std::string("{\"a\":"),
        std::string("{\"a\":\"\xff\"}"), Nested(kJsonDepthMax - 7)}) {
    EXPECT_FALSE(IsEmbeddableJson(no)) << no;
  }
}

}  // namespace
}  // namespace strata::cli

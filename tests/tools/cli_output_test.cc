// The CLI's JSON writing (tools/commands/output.h JsonWriter over
// engine/base/json_quote.h): exact output for each kind of value, every
// control character's escape, invalid UTF-8 replaced, and random documents
// that simdjson parses back to exactly what was written.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_format.h"
#include "engine/base/json_quote.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tools/commands/output.h"

namespace strata::cli {
namespace {

TEST(JsonWriterTest, WritesContainersWithCommasInCallOrder) {
  JsonWriter w;
  w.BeginObject()
      .Key("b")
      .Uint(18446744073709551615u)
      .Key("a")
      .BeginArray()
      .Bool(true)
      .Null()
      .Int(-9223372036854775807 - 1)
      .String("x")
      .BeginObject()
      .EndObject()
      .BeginArray()
      .EndArray()
      .EndArray()
      .Key("")
      .Raw("{\"kept\" : [1, 2]}")
      .EndObject();
  EXPECT_EQ(w.str(),
            "{\"b\":18446744073709551615,\"a\":[true,null,-9223372036854775808,\"x\",{},[]],"
            "\"\":{\"kept\" : [1, 2]}}");
}

TEST(JsonWriterTest, DoublesAreNumbersAndNonFiniteOnesNull) {
  JsonWriter w;
  w.BeginArray()
      .Double(0.5)
      .Double(-2)
      .Double(1e21)
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .Double(std::nan(""))
      .EndArray();
  EXPECT_EQ(w.str(), "[0.5,-2,1e+21,null,null,null]");
}

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndEveryControlCharacter) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
  EXPECT_EQ(JsonQuote("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  for (int c = 0; c < 0x20; ++c) {
    if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') continue;
    EXPECT_EQ(JsonQuote(std::string(1, static_cast<char>(c))), absl::StrFormat("\"\\u%04x\"", c))
        << c;
  }
  EXPECT_EQ(JsonQuote("\x7f"), "\"\x7f\"");  // DEL needs no escape
}

TEST(JsonQuoteTest, KeepsValidUtf8AndReplacesEachInvalidByte) {
  EXPECT_EQ(JsonQuote("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            "\"a\\ufffdb\"");
  // A truncated sequence: each of its bytes is replaced.
  EXPECT_EQ(JsonQuote("\xe2\x82"), "\"\\ufffd\\ufffd\"");
  // Overlong forms, a surrogate and a code point above U+10FFFF are invalid.
  EXPECT_EQ(JsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
  EXPECT_EQ(JsonQuote("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

// A random JSON document, written with JsonWriter and compared with what
// simdjson's DOM reads back.
struct Node {
  enum Kind { kNull, kBool, kInt, kUint, kString, kArray, kObject } kind = kNull;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  std::string s;                                   // kString's value
  std::vector<std::pair<std::string, Node>> kids;  // array elements (keys unused) or members
};

class RandomDocuments {
 public:
  explicit RandomDocuments(uint32_t seed) : rng_(seed) {}

  Node Make(int depth) {
    Node n;
    n.kind = static_cast<Node::Kind>(Pick(depth > 0 ? 7 : 5));
    switch (n.kind) {
      case Node::kNull:
        break;
      case Node::kBool:
        n.b = Pick(2) == 1;
        break;
      case Node::kInt:
        // Unsigned arithmetic wraps; the cast back spreads values over all of int64_t.
        n.i = static_cast<int64_t>(rng_() - (uint64_t{1} << 62) * Pick(3));
        break;
      case Node::kUint:
        n.u = rng_();
        break;
      case Node::kString:
        n.s = Text();
        break;
      case Node::kArray:
      case Node::kObject:
        for (size_t k = Pick(5); k > 0; --k) n.kids.emplace_back(Text(), Make(depth - 1));
        break;
    }
    return n;
  }

  // Valid UTF-8 mixing what JsonQuote must escape with multi-byte characters.
  std::string Text() {
    static const char* const kPieces[] = {"a",
                                          "Z",
                                          " ",
                                          "\"",
                                          "\\",
                                          "/",
                                          "\n",
                                          "\t",
                                          "\x01",
                                          "\x1f",
                                          "\x7f",
                                          "\xc3\xa9",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80",
                                          "{",
                                          "]",
                                          ",",
                                          ":"};
    std::string out;
    for (size_t k = Pick(12); k > 0; --k) out += kPieces[Pick(std::size(kPieces))];
    return out;
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
};

void Write(const Node& n, JsonWriter* w) {
  switch (n.kind) {
    case Node::kNull:
      w->Null();
      return;
    case Node::kBool:
      w->Bool(n.b);
      return;
    case Node::kInt:
      w->Int(n.i);
      return;
    case Node::kUint:
      w->Uint(n.u);
      return;
    case Node::kString:
      w->String(n.s);
      return;
    case Node::kArray:
      w->BeginArray();
      for (const auto& [key, kid] : n.kids) Write(kid, w);
      w->EndArray();
      return;
    case Node::kObject:
      w->BeginObject();
      for (const auto& [key, kid] : n.kids) {
        w->Key(key);
        Write(kid, w);
      }
      w->EndObject();
      return;
  }
}

// Compares with gtest assertions; `path` names the place in the document.
void ExpectSame(const Node& n, simdjson::dom::element e, const std::string& path) {
  SCOPED_TRACE(path);
  switch (n.kind) {
    case Node::kNull:
      EXPECT_TRUE(e.is_null());
      return;
    case Node::kBool:
      EXPECT_EQ(e.get_bool().value_unsafe(), n.b);
      return;
    case Node::kInt:
      ASSERT_TRUE(e.is_int64());
      EXPECT_EQ(e.get_int64().value_unsafe(), n.i);
      return;
    case Node::kUint:
      if (e.is_int64()) {
        EXPECT_EQ(static_cast<uint64_t>(e.get_int64().value_unsafe()), n.u);
      } else {
        ASSERT_TRUE(e.is_uint64());
        EXPECT_EQ(e.get_uint64().value_unsafe(), n.u);
      }
      return;
    case Node::kString:
      ASSERT_TRUE(e.is_string());
      EXPECT_EQ(std::string(e.get_string().value_unsafe()), n.s);
      return;
    case Node::kArray: {
      ASSERT_TRUE(e.is_array());
      simdjson::dom::array a = e.get_array().value_unsafe();
      ASSERT_EQ(a.size(), n.kids.size());
      size_t k = 0;
      for (simdjson::dom::element kid : a) {
        ExpectSame(n.kids[k].second, kid, absl::StrFormat("%s[%d]", path, k));
        ++k;
      }
      return;
    }
    case Node::kObject: {
      ASSERT_TRUE(e.is_object());
      simdjson::dom::object o = e.get_object().value_unsafe();
      ASSERT_EQ(o.size(), n.kids.size());
      size_t k = 0;
      for (simdjson::dom::key_value_pair member : o) {  // in document order, duplicates kept
        EXPECT_EQ(std::string(member.key), n.kids[k].first);
        ExpectSame(n.kids[k].second, member.value, absl::StrFormat("%s.%d", path, k));
        ++k;
      }
      return;
    }
  }
}

TEST(JsonWriterTest, RandomDocumentsParseBackToWhatWasWritten) {
  RandomDocuments docs(20261204);
  simdjson::dom::parser parser;
  for (int i = 0; i < 2000; ++i) {
    const Node doc = docs.Make(4);
    JsonWriter w;
    Write(doc, &w);
    simdjson::dom::element parsed;
    ASSERT_EQ(parser.parse(w.str()).get(parsed), simdjson::SUCCESS) << w.str();
    ASSERT_NO_FATAL_FAILURE(ExpectSame(doc, parsed, absl::StrFormat("doc %d", i))) << w.str();
  }
}

TEST(JsonQuoteTest, AnyBytesQuoteToAValidJsonStringThatKeepsValidText) {
  std::mt19937_64 rng(42);
  simdjson::dom::parser parser;
  for (int i = 0; i < 5000; ++i) {
    std::string bytes(std::uniform_int_distribution<size_t>(0, 16)(rng), '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string quoted = JsonQuote(bytes);
    std::string_view decoded;
    ASSERT_EQ(parser.parse(quoted).get(decoded), simdjson::SUCCESS) << quoted;
    if (simdjson::validate_utf8(bytes.data(), bytes.size())) {
      EXPECT_EQ(decoded, bytes);
    }
  }
}

}  // namespace
}  // namespace strata::cli

// The CLI's argument parsing: values, booleans, repeats, spellings, "--",
// words that look like JSON or negative numbers, and every refusal's message.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/commands/args.h"

namespace strata::cli {
namespace {

const CommandSpec& Spec() {
  static const CommandSpec spec{"projections get",
                                "NAME KEY... [--as-of P]",
                                "Get a row.",
                                "",
                                {ServerFlag(),
                                 DataDirFlag("a data directory"),
                                 JsonFlag(),
                                 {"as-of", "P", "as of P"},
                                 {"prefix", "P", "a prefix", /*repeated=*/true}},
                                1,
                                4};
  return spec;
}

absl::StatusOr<Args> Parse(std::vector<std::string> argv) { return ParseArgs(Spec(), argv); }

TEST(CliArgsTest, ValuesFlagsRepeatsAndPositionalWordsAsGiven) {
  absl::StatusOr<Args> a = Parse({"clicks", R"(["a","b"])", "--as-of=5", "[]", "--json", "--prefix",
                                  "x", "--prefix=", "--data_dir", "/d", "--token", "t"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->positional(), (std::vector<std::string>{"clicks", R"(["a","b"])", "[]"}));
  EXPECT_EQ(a->Get("as-of"), "5");
  EXPECT_TRUE(a->Has("json"));
  EXPECT_EQ(a->GetAll("prefix"), (std::vector<std::string>{"x", ""}));
  EXPECT_EQ(a->Get("data-dir"), "/d");
  EXPECT_EQ(a->Get("token"), "t");  // --server brings the security flags
  EXPECT_FALSE(a->help());
}

TEST(CliArgsTest, AfterDoubleDashEverythingIsPositional) {
  absl::StatusOr<Args> a = Parse({"n", "--json", "--", "-5", "--as-of", "--"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->positional(), (std::vector<std::string>{"n", "-5", "--as-of", "--"}));
  EXPECT_TRUE(a->Has("json"));
  EXPECT_FALSE(a->Has("as-of"));
}

TEST(CliArgsTest, AnEmptyValueDoesNotTakeTheNextWord) {
  absl::StatusOr<Args> a = Parse({"n", "--as-of=", "--json"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Get("as-of"), "");
  EXPECT_TRUE(a->Has("json"));
}

TEST(CliArgsTest, BooleansTakeTrueOrFalse) {
  absl::StatusOr<Args> a = Parse({"n", "--json=false"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->Has("json"));
  a = Parse({"n", "--json=true"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->Has("json"));
  a = Parse({"--help"});
  ASSERT_TRUE(a.ok());  // no count check with --help
  EXPECT_TRUE(a->help());
}

TEST(CliArgsTest, RefusalsNameTheFlagOrArgument) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"n", "--bogus"}, "unknown flag '--bogus'"},
      {{"n", "--bogus=1"}, "unknown flag '--bogus'"},
      {{"n", "-x"}, "unknown flag '-x'"},
      {{"n", "--as-of"}, "--as-of needs a value (P)"},
      {{"n", "--as-of", "1", "--as-of", "2"}, "--as-of given more than once"},
      {{"n", "--json", "--json"}, "--json given more than once"},
      {{"n", "--json=maybe"}, "--json takes no value (or =true, =false), not 'maybe'"},
      {{}, "missing argument: strata projections get NAME KEY... [--as-of P]"},
      {{"a", "b", "c", "d", "e"}, "unexpected argument 'e'"},
  };
  for (const auto& [argv, message] : cases) {
    absl::StatusOr<Args> a = Parse(argv);
    ASSERT_FALSE(a.ok()) << message;
    EXPECT_EQ(a.status(), absl::InvalidArgumentError(message));
  }
}

}  // namespace
}  // namespace strata::cli

// The module map, checked: every #include "<module>/..." in a library's
// sources points down the layers or stays inside its own module, and
// "<module>/internal/..." is included only from inside that module.
//
//   schemas  <-  engine  <-  projections  <-  links  <-  api  <-  server  <-  tools
//
// (engine/base/ is the engine's public foundation for every layer above:
// status macros, hook points, byte coding, name and UTF-8 validation, RocksDB
// setup.) tests/ and bench/ are white-box and not checked. A negative control
// runs the same checker over a small tree with one upward and one internal
// include, which must both be reported. The internal headers are refused by
// the compiler too (#error without strata::engine_internals; see this
// directory's CMakeLists.txt and its negative control).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace strata {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::map<std::string, int>& Layers() {
  static const auto* layers = new std::map<std::string, int>{
      {"schemas", 0}, {"engine", 1}, {"projections", 2}, {"links", 3},
      {"api", 4},     {"server", 5}, {"tools", 6},
  };
  return *layers;
}

// One line per include that crosses a boundary: "file:line: why".
std::vector<std::string> Violations(const std::filesystem::path& root) {
  std::vector<std::string> out;
  const std::regex include(R"re(^\s*#\s*include\s+"([a-z_]+)/([^"]+)")re");
  for (const auto& [module, layer] : Layers()) {
    const std::filesystem::path dir = root / module;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const std::string target = m[1];
        const std::string rest = m[2];
        auto it = Layers().find(target);
        if (it == Layers().end() || target == module) continue;  // a library's, or its own
        const std::string where = std::filesystem::relative(entry.path(), root).string() + ":" +
                                  std::to_string(n) + ": ";
        if (it->second >= layer) {
          out.push_back(where + module + " may not include " + target + "/" + rest +
                        (it->second == layer ? " (sideways)" : " (upward)"));
        } else if (rest.rfind("internal/", 0) == 0 ||
                   rest.find("/internal/") != std::string::npos) {
          out.push_back(where + module + " may not include " + target + "/" + rest +
                        " (another module's internals)");
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ModuleBoundariesTest, EveryIncludePointsDownAndNoInternalsLeak) {
  EXPECT_THAT(Violations(STRATA_SOURCE_DIR), IsEmpty());
}

TEST(ModuleBoundariesTest, TheCheckerCatchesAnUpwardAndAnInternalInclude) {
  testing::TempDir dir;
  const std::filesystem::path root = dir.path();
  std::filesystem::create_directories(root / "engine");
  std::filesystem::create_directories(root / "projections" / "runtime");
  std::ofstream(root / "engine" / "log.cc") << "#include \"engine/log.h\"\n"
                                                 "#include \"projections/runtime/runtime.h\"\n";
  std::ofstream(root / "projections" / "runtime" / "runtime.cc")
      << "#include \"engine/log.h\"\n"
         "#include \"absl/status/status.h\"\n"
         "  #include \"engine/internal/codec.h\"\n";
  EXPECT_THAT(Violations(root),
              ElementsAre("engine/log.cc:2: engine may not include projections/runtime/runtime.h "
                          "(upward)",
                          "projections/runtime/runtime.cc:3: projections may not include "
                          "engine/internal/codec.h (another module's internals)"));
}

}  // namespace
}  // namespace strata

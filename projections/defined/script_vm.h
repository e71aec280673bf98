// ScriptProjection::Vm: one sandboxed Lua 5.4 state with a projection's
// script loaded (projections/defined/script.h): the CPU and memory budget,
// the prelude and frozen globals, emit(), and the conversions between Lua
// values, stored Values and JSON. Private to script.cc and script_vm.cc.
//
// Thread-safety: one thread at a time (ScriptProjection lends each Vm to one
// worker).
#ifndef STRATA_PROJECTIONS_DEFINED_SCRIPT_VM_H_
#define STRATA_PROJECTIONS_DEFINED_SCRIPT_VM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "projections/defined/json.h"
#include "projections/defined/script.h"
#include "simdjson.h"

// Lua built as C++ (Debian's liblua5.4-c++): errors unwind as exceptions, so
// C++ destructors run.
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

namespace strata::defined {

namespace script_internal {

// The row-key part under which partition states are stored.
inline constexpr char kStatePart[] = "state";

inline absl::Status Bad(absl::string_view what) { return absl::InvalidArgumentError(what); }

}  // namespace script_internal

// One sandboxed Lua state with the script loaded.
class ScriptProjection::Vm {
 public:
  static absl::StatusOr<std::unique_ptr<Vm>> Create(const ScriptSpec& script,
                                                    const std::string& name);
  ~Vm();

  lua_State* L() { return L_; }

  // Starts an event's budget.
  void StartBudget();

  // Calls the function on the stack's top-`nargs`-1 with `nargs` arguments
  // and 1 result, under the budget. A Lua error becomes InvalidArgument.
  absl::Status Call(int nargs);

  std::vector<std::pair<std::vector<std::string>, Value>>& emitted() { return emitted_; }

  // Encodes the value at `index` as a Value (tables as JSON).
  absl::StatusOr<Value> ToValue(int index);

  // Pushes `value` (a stored Value; JSON decoded into tables).
  absl::Status Push(const Value& value);

  // Pushes a parsed JSON text as Lua values (null as nil).
  absl::Status PushParsed(const ParsedJson& json);

  // Pushes the JSON text `json` as Lua values (null as nil).
  absl::Status PushJson(absl::string_view json);

 private:
  Vm() = default;

  absl::Status Load(const ScriptSpec& script, const std::string& name);

  static void* Alloc(void* ud, void* ptr, size_t old_size, size_t new_size);

  static void Hook(lua_State* L, lua_Debug* ar);

  // Adds the position of the error (chunk:line) when Lua gave none.
  static int MessageHandler(lua_State* L);

  // emit(key, value): key a string or a list of 1-8 strings.
  static int Emit(lua_State* L);

  absl::Status TableJson(int index, int depth, std::string* out);

  absl::Status ElementJson(int index, int depth, std::string* out);

  absl::Status PushElement(const simdjson::dom::element& e, int depth);

  lua_State* L_ = nullptr;
  size_t bytes_ = 0;
  int64_t instructions_ = 0;
  std::vector<std::pair<std::vector<std::string>, Value>> emitted_;
  simdjson::dom::parser dom_;
};

}  // namespace strata::defined

#endif  // STRATA_PROJECTIONS_DEFINED_SCRIPT_VM_H_

// ScriptProjection::Vm (script_vm.h).
#include "projections/defined/script_vm.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/base/json_quote.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "projections/defined/rows.h"

namespace strata::defined {
namespace {

using script_internal::Bad;
using script_internal::kStatePart;

constexpr int kHookEvery = 1000;  // instructions between budget checks
constexpr int kJsonDepthMax = 64;

// Runs after the script's libraries load, before the user's script: a pairs()
// in sorted key order, and nothing that would make a replay differ.
constexpr char kPrelude[] = R"lua(
local next, type, sort = next, type, table.sort
local function before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return (not a) and b end
  error("pairs: keys of type " .. ta .. " have no order", 3)
end
pairs = function(t)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  sort(keys, before)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end
_ENV.next = nil  -- the global; the local above stays
-- Finalizers run outside the CPU budget (Lua turns hooks off in them).
local set_metatable, raw_get = setmetatable, rawget
setmetatable = function(t, mt)
  if type(mt) == "table" and raw_get(mt, "__gc") ~= nil then
    error("setmetatable: __gc finalizers are not allowed", 2)
  end
  return set_metatable(t, mt)
end
)lua";

constexpr char kFreeze[] = R"lua(
setmetatable(_G, {__metatable = false, __newindex = function(_, k)
  error("assignment to global '" .. tostring(k) .. "': keep what events change in the state", 2)
end})
rawset = nil
)lua";

}  // namespace

absl::StatusOr<std::unique_ptr<ScriptProjection::Vm>> ScriptProjection::Vm::Create(
    const ScriptSpec& script, const std::string& name) {
  std::unique_ptr<Vm> vm(new Vm());
  vm->L_ = lua_newstate(&Vm::Alloc, vm.get());
  if (vm->L_ == nullptr) return absl::ResourceExhaustedError("script: no memory for Lua");
  STRATA_RETURN_IF_ERROR(vm->Load(script, name));
  return vm;
}

ScriptProjection::Vm::~Vm() {
  if (L_ != nullptr) lua_close(L_);
}

void ScriptProjection::Vm::StartBudget() {
  instructions_ = 0;
  emitted_.clear();
}

absl::Status ScriptProjection::Vm::Call(int nargs) {
  lua_pushcfunction(L_, &Vm::MessageHandler);
  lua_insert(L_, -(nargs + 2));
  const int handler = lua_gettop(L_) - nargs - 1;
  lua_sethook(L_, &Vm::Hook, LUA_MASKCOUNT, kHookEvery);
  const int rc = lua_pcall(L_, nargs, 1, handler);
  lua_sethook(L_, nullptr, 0, 0);
  lua_remove(L_, handler);
  if (rc == LUA_OK) return absl::OkStatus();
  std::string message = lua_isstring(L_, -1) ? lua_tostring(L_, -1) : "error object";
  lua_pop(L_, 1);
  if (rc == LUA_ERRMEM)
    message =
        absl::StrCat("memory cap exceeded (", kScriptMemoryBytesMax >> 20, " MiB): ", message);
  lua_gc(L_, LUA_GCCOLLECT);
  return Bad(absl::StrCat("script: ", message));
}

absl::StatusOr<Value> ScriptProjection::Vm::ToValue(int index) {
  index = lua_absindex(L_, index);
  switch (lua_type(L_, index)) {
    case LUA_TNIL:
      return Value::Json("null");
    case LUA_TBOOLEAN:
      return Value::Bool(lua_toboolean(L_, index) != 0);
    case LUA_TNUMBER:
      if (lua_isinteger(L_, index)) return Value::Int(lua_tointeger(L_, index));
      if (!std::isfinite(lua_tonumber(L_, index))) return Bad("a NaN or infinity is not JSON");
      return Value::Double(lua_tonumber(L_, index));
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L_, index, &n);
      if (!internal::IsValidUtf8(absl::string_view(s, n))) {
        return Bad("a string is not valid UTF-8");
      }
      return Value::String(std::string(s, n));
    }
    case LUA_TTABLE: {
      std::string json;
      STRATA_RETURN_IF_ERROR(TableJson(index, 0, &json));
      return Value::Json(std::move(json));
    }
    default:
      return Bad(absl::StrCat("a ", luaL_typename(L_, index), " cannot be stored"));
  }
}

absl::Status ScriptProjection::Vm::Push(const Value& value) {
  switch (value.type) {
    case Value::Type::kInt:
      lua_pushinteger(L_, value.i);
      return absl::OkStatus();
    case Value::Type::kDouble:
      lua_pushnumber(L_, value.d);
      return absl::OkStatus();
    case Value::Type::kString:
      lua_pushlstring(L_, value.text.data(), value.text.size());
      return absl::OkStatus();
    case Value::Type::kBool:
      lua_pushboolean(L_, value.b);
      return absl::OkStatus();
    case Value::Type::kJson:
      return PushJson(value.text);
  }
  return absl::OkStatus();
}

absl::Status ScriptProjection::Vm::PushParsed(const ParsedJson& json) {
  if (!json.has_dom()) return Bad("invalid JSON: a number beyond what a Lua number holds");
  return PushElement(json.root(), 0);
}

absl::Status ScriptProjection::Vm::PushJson(absl::string_view json) {
  simdjson::dom::element root;
  if (auto e = dom_.parse(json.data(), json.size()).get(root); e) {
    return Bad(absl::StrCat("invalid JSON: ", simdjson::error_message(e)));
  }
  return PushElement(root, 0);
}

absl::Status ScriptProjection::Vm::Load(const ScriptSpec& script, const std::string& name) {
  for (const auto& [lib, open] : std::initializer_list<std::pair<const char*, lua_CFunction>>{
           {LUA_GNAME, luaopen_base},
           {LUA_STRLIBNAME, luaopen_string},
           {LUA_TABLIBNAME, luaopen_table},
           {LUA_MATHLIBNAME, luaopen_math},
           {LUA_UTF8LIBNAME, luaopen_utf8}}) {
    luaL_requiref(L_, lib, open, 1);
    lua_pop(L_, 1);
  }
  // pcall/xpcall would let a script catch its own CPU-budget error.
  for (const char* global : {"dofile", "loadfile", "load", "require", "collectgarbage", "print",
                             "warn", "pcall", "xpcall"}) {
    lua_pushnil(L_);
    lua_setglobal(L_, global);
  }
  lua_getglobal(L_, LUA_MATHLIBNAME);
  for (const char* f : {"random", "randomseed"}) {
    lua_pushnil(L_);
    lua_setfield(L_, -2, f);
  }
  lua_pop(L_, 1);
  lua_pushlightuserdata(L_, this);
  lua_pushcclosure(L_, &Vm::Emit, 1);
  lua_setglobal(L_, "emit");
  StartBudget();
  if (luaL_loadbufferx(L_, kPrelude, sizeof(kPrelude) - 1, "=prelude", "t") != LUA_OK) {
    return absl::InternalError(absl::StrCat("script prelude: ", lua_tostring(L_, -1)));
  }
  STRATA_RETURN_IF_ERROR(Call(0));
  lua_pop(L_, 1);
  const std::string chunk = absl::StrCat("=", name, ".lua");
  if (luaL_loadbufferx(L_, script.lua.data(), script.lua.size(), chunk.c_str(), "t") != LUA_OK) {
    std::string message = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return Bad(absl::StrCat("script: ", message));
  }
  STRATA_RETURN_IF_ERROR(Call(0));
  lua_pop(L_, 1);
  // From here on, new globals are refused: what an event changes belongs in
  // the partition's state, or a replay would depend on earlier events.
  if (luaL_loadbufferx(L_, kFreeze, sizeof(kFreeze) - 1, "=prelude", "t") != LUA_OK) {
    return absl::InternalError(absl::StrCat("script prelude: ", lua_tostring(L_, -1)));
  }
  STRATA_RETURN_IF_ERROR(Call(0));
  lua_pop(L_, 1);
  return absl::OkStatus();
}

void* ScriptProjection::Vm::Alloc(void* ud, void* ptr, size_t old_size, size_t new_size) {
  Vm* vm = static_cast<Vm*>(ud);
  if (ptr == nullptr) old_size = 0;  // old_size is the type of object then
  if (new_size == 0) {
    std::free(ptr);
    vm->bytes_ -= old_size;
    return nullptr;
  }
  if (new_size > old_size && vm->bytes_ + (new_size - old_size) > kScriptMemoryBytesMax) {
    return nullptr;  // Lua raises a memory error
  }
  void* out = std::realloc(ptr, new_size);
  if (out != nullptr) vm->bytes_ = vm->bytes_ - old_size + new_size;
  return out;
}

void ScriptProjection::Vm::Hook(lua_State* L, lua_Debug* ar) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  Vm* vm = static_cast<Vm*>(ud);
  vm->instructions_ += kHookEvery;
  if (vm->instructions_ > kScriptInstructionsMax) {
    lua_getinfo(L, "Sl", ar);  // where the script was when the budget ran out
    luaL_error(L, "%s:%d: CPU budget exceeded: more than %d instructions for one event",
               ar->short_src, ar->currentline, static_cast<int>(kScriptInstructionsMax));
  }
}

int ScriptProjection::Vm::MessageHandler(lua_State* L) {
  if (!lua_isstring(L, 1)) {
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  return 1;
}

int ScriptProjection::Vm::Emit(lua_State* L) {
  Vm* vm = static_cast<Vm*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::vector<std::string> key;
  auto part = [&](int index) {
    size_t len = 0;
    const char* text = lua_tolstring(L, index, &len);
    key.emplace_back(text, len);
    return internal::IsValidUtf8(key.back());
  };
  if (lua_type(L, 1) == LUA_TSTRING) {
    if (!part(1)) return luaL_error(L, "emit: the key is not valid UTF-8");
  } else if (lua_type(L, 1) == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, 1);
    if (n < 1 || n > static_cast<lua_Integer>(kKeyPartsMax)) {
      return luaL_error(L, "emit: a key has 1 to %d parts", static_cast<int>(kKeyPartsMax));
    }
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_geti(L, 1, i);
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
        return luaL_error(L, "emit: key part %d is a %s, not a string", static_cast<int>(i),
                          luaL_typename(L, -1));
      }
      if (!part(-1))
        return luaL_error(L, "emit: key part %d is not valid UTF-8", static_cast<int>(i));
      lua_pop(L, 1);
    }
  } else {
    return luaL_error(L, "emit: the key must be a string or a list of strings");
  }
  if (key[0] == kStatePart)
    return luaL_error(L, "emit: keys starting with \"state\" hold partition states");
  absl::StatusOr<Value> value = vm->ToValue(2);
  if (!value.ok()) return luaL_error(L, "emit: %s", std::string(value.status().message()).c_str());
  vm->emitted_.emplace_back(std::move(key), *std::move(value));
  return 0;
}

absl::Status ScriptProjection::Vm::TableJson(int index, int depth, std::string* out) {
  if (depth > kJsonDepthMax) return Bad("tables nest more than 64 deep");
  if (!lua_checkstack(L_, 4)) return Bad("tables nest too deep for the Lua stack");
  // Shared subtables can make the text exponentially larger than the
  // tables: stop at the largest state a partition may hold.
  if (out->size() > kScriptStateBytesMax) {
    return Bad(absl::StrCat("the value encodes to more than the limit of ", kScriptStateBytesMax,
                            " bytes"));
  }
  // An array when the keys are exactly the integers 1..n.
  const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L_, index));
  size_t count = 0;
  bool strings_only = true;
  bool sequence = true;
  lua_pushnil(L_);
  while (lua_next(L_, index) != 0) {
    ++count;
    if (lua_type(L_, -2) != LUA_TSTRING) strings_only = false;
    if (!lua_isinteger(L_, -2) || lua_tointeger(L_, -2) < 1 || lua_tointeger(L_, -2) > n) {
      sequence = false;
    }
    lua_pop(L_, 1);
  }
  if (count > 0 && sequence && static_cast<size_t>(n) == count) {
    out->push_back('[');
    for (lua_Integer i = 1; i <= n; ++i) {
      if (i > 1) out->push_back(',');
      lua_rawgeti(L_, index, i);
      absl::Status s = ElementJson(-1, depth, out);
      lua_pop(L_, 1);
      STRATA_RETURN_IF_ERROR(s);
    }
    out->push_back(']');
    return absl::OkStatus();
  }
  if (!strings_only) return Bad("a table with keys other than strings (or 1..n) is not JSON");
  std::vector<std::string> keys;
  keys.reserve(count);
  lua_pushnil(L_);
  while (lua_next(L_, index) != 0) {
    size_t len = 0;
    const char* key = lua_tolstring(L_, -2, &len);  // a string key: no conversion
    keys.emplace_back(key, len);
    lua_pop(L_, 1);
  }
  std::sort(keys.begin(), keys.end());
  out->push_back('{');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out->push_back(',');
    if (!internal::IsValidUtf8(keys[i])) return Bad("a table key is not valid UTF-8");
    out->append(JsonQuote(keys[i]));
    out->push_back(':');
    lua_pushlstring(L_, keys[i].data(), keys[i].size());
    lua_rawget(L_, index);
    absl::Status s = ElementJson(-1, depth, out);
    lua_pop(L_, 1);
    STRATA_RETURN_IF_ERROR(s);
  }
  out->push_back('}');
  return absl::OkStatus();
}

absl::Status ScriptProjection::Vm::ElementJson(int index, int depth, std::string* out) {
  index = lua_absindex(L_, index);
  if (lua_type(L_, index) == LUA_TTABLE) return TableJson(index, depth + 1, out);
  STRATA_ASSIGN_OR_RETURN(Value v, ToValue(index));
  out->append(ToJson(v));
  return absl::OkStatus();
}

absl::Status ScriptProjection::Vm::PushElement(const simdjson::dom::element& e, int depth) {
  if (depth > kJsonDepthMax) return Bad("JSON nests more than 64 deep");
  if (!lua_checkstack(L_, 4)) return Bad("JSON nests too deep for the Lua stack");
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object o = e.get_object().value_unsafe();
      lua_createtable(L_, 0, static_cast<int>(o.size()));
      for (auto field : o) {
        lua_pushlstring(L_, field.key.data(), field.key.size());
        STRATA_RETURN_IF_ERROR(PushElement(field.value, depth + 1));
        lua_rawset(L_, -3);
      }
      return absl::OkStatus();
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array a = e.get_array().value_unsafe();
      lua_createtable(L_, static_cast<int>(a.size()), 0);
      lua_Integer i = 0;
      for (auto item : a) {
        STRATA_RETURN_IF_ERROR(PushElement(item, depth + 1));
        lua_rawseti(L_, -2, ++i);
      }
      return absl::OkStatus();
    }
    case simdjson::dom::element_type::INT64:
      lua_pushinteger(L_, e.get_int64().value_unsafe());
      break;
    case simdjson::dom::element_type::UINT64:
      lua_pushnumber(L_, static_cast<double>(e.get_uint64().value_unsafe()));
      break;
    case simdjson::dom::element_type::DOUBLE:
      lua_pushnumber(L_, e.get_double().value_unsafe());
      break;
    case simdjson::dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      lua_pushlstring(L_, s.data(), s.size());
      break;
    }
    case simdjson::dom::element_type::BOOL:
      lua_pushboolean(L_, e.get_bool().value_unsafe());
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      lua_pushnil(L_);
      break;
  }
  return absl::OkStatus();
}

}  // namespace strata::defined

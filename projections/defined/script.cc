// ScriptProjection (script.h): CheckScript, the pool of Lua VMs
// (script_vm.cc), and Apply, which runs an event's handler in one protected
// Lua call and writes the partition's state and emitted rows; MakeProjection.
#include "projections/defined/script.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/base/macros.h"
#include "engine/base/validate.h"
#include "projections/defined/rows.h"
#include "projections/defined/script_vm.h"

namespace strata::defined {
namespace {

using script_internal::Bad;
using script_internal::kStatePart;

constexpr char kStateField[] = "state";
constexpr char kValueFieldName[] = "value";

}  // namespace

absl::Status CheckScript(const ScriptSpec& script, absl::string_view name) {
  if (script.lua.size() > kScriptBytesMax) {
    return absl::ResourceExhaustedError(absl::StrCat("script.lua: ", script.lua.size(),
                                                     " bytes, more than the limit of ",
                                                     kScriptBytesMax));
  }
  absl::StatusOr<std::unique_ptr<ScriptProjection::Vm>> vm =
      ScriptProjection::Vm::Create(script, std::string(name));
  if (!vm.ok()) {
    absl::string_view message = vm.status().message();
    absl::ConsumePrefix(&message, "script: ");
    return absl::Status(vm.status().code(), absl::StrCat("script.lua: ", message));
  }
  lua_State* L = (*vm)->L();
  lua_getglobal(L, "on");
  bool any_handler = false;
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      any_handler |= lua_type(L, -2) == LUA_TSTRING && lua_isfunction(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (!any_handler) {
    return absl::InvalidArgumentError(
        "script.lua: defines no handler: set on = {} and on.<EventType> = function(state, event)");
  }
  lua_getglobal(L, "init");
  const bool init_ok = lua_isnil(L, -1) || lua_isfunction(L, -1);
  lua_pop(L, 1);
  if (!init_ok) return absl::InvalidArgumentError("script.lua: init must be a function");
  lua_getglobal(L, "partition");
  const bool has_partition = lua_isfunction(L, -1);
  lua_pop(L, 1);
  if (script.partition == ScriptSpec::Partition::kFunction && !has_partition) {
    return absl::InvalidArgumentError(
        "script.partition_by: \"function\" needs a function partition(event) in the script");
  }
  return absl::OkStatus();
}

ScriptProjection::ScriptProjection(Definition definition, ProjectionVersion version,
                                   std::shared_ptr<JsonEvents> events)
    : definition_(std::move(definition)),
      version_(version),
      events_(JsonEvents::OrUnshared(std::move(events))) {}

ScriptProjection::~ScriptProjection() = default;

std::unique_ptr<ScriptProjection::Vm> ScriptProjection::Borrow() {
  absl::MutexLock lock(&mu_);
  if (idle_.empty()) return nullptr;
  std::unique_ptr<Vm> vm = std::move(idle_.back());
  idle_.pop_back();
  return vm;
}

void ScriptProjection::Return(std::unique_ptr<Vm> vm) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(vm));
}

namespace {

// Pushes the event table for the handlers.
absl::Status PushEvent(ScriptProjection::Vm& vm, const EventView& e, JsonEvents& events) {
  lua_State* L = vm.L();
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, static_cast<lua_Integer>(e.position));
  lua_setfield(L, -2, "position");
  lua_pushlstring(L, e.stream.data(), e.stream.size());
  lua_setfield(L, -2, "stream");
  lua_pushinteger(L, static_cast<lua_Integer>(e.stream_version));
  lua_setfield(L, -2, "stream_version");
  lua_pushlstring(L, e.type.data(), e.type.size());
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, e.recorded_at_us);
  lua_setfield(L, -2, "recorded_at");
  // data: JSON, or a JSON view, else nil.
  const ParsedEventRef parsed = events.For(e);
  STRATA_ASSIGN_OR_RETURN(const ParsedJson* data, parsed->Data(e));
  if (data != nullptr && !data->empty()) {
    absl::Status s = data->status();
    if (s.ok()) s = vm.PushParsed(*data);
    if (!s.ok()) return Bad(absl::StrCat("data: ", s.message()));
    lua_setfield(L, -2, "data");
  }
  // metadata: when it is JSON, else nil.
  if (!e.metadata.empty()) {
    const ParsedJson& metadata = parsed->Metadata(e);
    const int top = lua_gettop(L);
    if (metadata.status().ok() && vm.PushParsed(metadata).ok()) {
      lua_setfield(L, -2, "metadata");
    } else {
      lua_settop(L, top);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PartitionOf(ScriptProjection::Vm& vm, const ScriptSpec& script,
                                        const EventView& e, int event_index) {
  switch (script.partition) {
    case ScriptSpec::Partition::kStream:
      return std::string(e.stream);
    case ScriptSpec::Partition::kCategory:
      return std::string(e.stream.substr(0, e.stream.find('-')));
    case ScriptSpec::Partition::kFunction:
      break;
  }
  lua_State* L = vm.L();
  lua_getglobal(L, "partition");
  lua_pushvalue(L, event_index);
  STRATA_RETURN_IF_ERROR(vm.Call(1));
  if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
    const std::string type = luaL_typename(L, -1);
    lua_pop(L, 1);
    return Bad(absl::StrCat("script: partition(event) returned a ", type, ", not a string"));
  }
  size_t len = 0;
  const char* text = lua_tolstring(L, -1, &len);
  std::string out(text, len);
  lua_pop(L, 1);
  if (!internal::IsValidUtf8(out)) return Bad("script: partition(event) is not valid UTF-8");
  return out;
}

}  // namespace

absl::Status ScriptProjection::Apply(const EventView& event, ProjectionWriter& writer) {
  if (!definition_.Reads(event)) return absl::OkStatus();
  const ScriptSpec& script = *definition_.script;
  std::unique_ptr<Vm> vm = Borrow();
  if (vm == nullptr) {
    absl::StatusOr<std::unique_ptr<Vm>> created = Vm::Create(script, definition_.name);
    if (!created.ok()) return created.status();  // it loaded at definition: not the event's fault
    vm = *std::move(created);
  }
  lua_State* L = vm->L();
  const int top = lua_gettop(L);
  vm->StartBudget();
  // Everything that touches Lua runs inside one protected call: an error
  // outside any (a failed allocation at the memory cap, say) would abort.
  struct Call {
    Vm* vm;
    const ScriptSpec* script;
    const EventView* event;
    JsonEvents* events;
    ProjectionWriter* writer;
    bool handled = false;
    absl::Status result;
    std::string state_json;
    std::string row;
  } call{vm.get(), &script, &event, events_.get(), &writer, false, {}, {}, {}};
  lua_pushcfunction(L, [](lua_State* L) -> int {
    Call& c = *static_cast<Call*>(lua_touserdata(L, 1));
    lua_settop(L, 0);
    Vm& vm = *c.vm;
    // The handler, if the script has one for this type.
    lua_getglobal(L, "on");
    if (lua_istable(L, -1)) {
      lua_pushlstring(L, c.event->type.data(), c.event->type.size());
      lua_rawget(L, -2);
      c.handled = lua_isfunction(L, -1);
    }
    if (!c.handled) return 0;
    const int handler = lua_gettop(L);
    c.result = [&]() -> absl::Status {
      STRATA_RETURN_IF_ERROR(PushEvent(vm, *c.event, *c.events));
      const int event_index = lua_gettop(L);
      STRATA_ASSIGN_OR_RETURN(std::string partition,
                              PartitionOf(vm, *c.script, *c.event, event_index));
      c.row = EncodeKey({std::string(kStatePart), partition});
      if (c.row.size() > kKeyBytesMax) {
        return Bad(absl::StrCat("the partition key is ", c.row.size(), " bytes, more than ",
                                kKeyBytesMax));
      }
      // state: stored, or init(), or {}.
      STRATA_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                              c.writer->Get(FieldKey(c.row, kValueField, kStateField)));
      if (stored.has_value()) {
        STRATA_ASSIGN_OR_RETURN(Value v, DecodeValue(*stored));
        STRATA_RETURN_IF_ERROR(vm.Push(v));
      } else {
        lua_getglobal(L, "init");
        if (lua_isfunction(L, -1)) {
          STRATA_RETURN_IF_ERROR(vm.Call(0));
        } else {
          lua_pop(L, 1);
          lua_newtable(L);
        }
      }
      const int state_index = lua_gettop(L);
      lua_pushvalue(L, handler);
      lua_pushvalue(L, state_index);
      lua_pushvalue(L, event_index);
      STRATA_RETURN_IF_ERROR(vm.Call(2));
      if (lua_isnil(L, -1)) {  // mutated in place
        lua_pop(L, 1);
        lua_pushvalue(L, state_index);
      }
      STRATA_ASSIGN_OR_RETURN(Value next, vm.ToValue(-1));
      c.state_json = EncodeValue(next);
      if (c.state_json.size() > kScriptStateBytesMax) {
        return Bad(absl::StrCat("the partition's state is ", c.state_json.size(),
                                " bytes, more than the limit of ", kScriptStateBytesMax));
      }
      return absl::OkStatus();
    }();
    return 0;
  });
  lua_pushlightuserdata(L, &call);
  const int rc = lua_pcall(L, 1, 0, 0);
  if (rc != LUA_OK) {
    call.handled = true;
    call.result = Bad(absl::StrCat(
        "script: ", rc == LUA_ERRMEM ? "memory cap exceeded: " : "",
        lua_isstring(L, -1) ? lua_tostring(L, -1) : "error object"));
    lua_gc(L, LUA_GCCOLLECT);
  }
  lua_settop(L, top);
  const bool handled = call.handled;
  absl::Status result = std::move(call.result);
  const std::string& row = call.row;
  const std::string& state_json = call.state_json;
  std::vector<std::pair<std::vector<std::string>, Value>> emitted = std::move(vm->emitted());
  Return(std::move(vm));
  if (!handled) return absl::OkStatus();
  if (result.ok()) {
    for (const auto& [key, value] : emitted) {
      const std::string emitted_row = EncodeKey(key);
      if (emitted_row.size() > kKeyBytesMax) {
        result = Bad(absl::StrCat("emit: the key is ", emitted_row.size(), " bytes, more than ",
                                  kKeyBytesMax));
        break;
      }
    }
  }
  if (result.ok()) {
    writer.Put(FieldKey(row, kValueField, kStateField), state_json);
    for (const auto& [key, value] : emitted) {
      writer.Put(FieldKey(EncodeKey(key), kValueField, kValueFieldName), EncodeValue(value));
    }
    return absl::OkStatus();
  }
  if (result.code() != absl::StatusCode::kInvalidArgument) return result;
  return BadEvent(definition_, event, result, writer);
}

std::shared_ptr<Projection> MakeProjection(Definition definition, ProjectionVersion version,
                                           std::shared_ptr<JsonEvents> events) {
  if (definition.script.has_value()) {
    return std::make_shared<ScriptProjection>(std::move(definition), version, std::move(events));
  }
  return std::make_shared<DefinedProjection>(std::move(definition), version, std::move(events));
}

}  // namespace strata::defined

// id128.cc: machine and boot ids (plain and app-specific) and the unit of a process, through
// libsystemd: the references the js backend's implementations are tested against.
#include "glibc_compat.h"
#include "id128.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

namespace {

Napi::Value Hex(const Napi::Env& env, const sd_id128_t& id) {
  static const char digits[] = "0123456789abcdef";
  char out[32];
  for (int i = 0; i < 16; i++) {
    out[2 * i] = digits[id.bytes[i] >> 4];
    out[2 * i + 1] = digits[id.bytes[i] & 15];
  }
  return Napi::String::New(env, out, 32);
}

// id128(kind: 0 machine, 1 boot, app: Buffer(16) | null): string (32 hex digits) | -errno
Napi::Value Id128(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const sd::Api* api = Api(env);
  int kind = ArgInt(info, 0);
  bool app = info[1].IsBuffer();
  sd_id128_t app_id, out;
  memset(&app_id, 0, sizeof(app_id));
  if (app) {
    Napi::Buffer<uint8_t> b = info[1].As<Napi::Buffer<uint8_t>>();
    if (b.Length() != 16) throw Napi::TypeError::New(env, "app id must be 16 bytes");
    memcpy(app_id.bytes, b.Data(), 16);
  }
  int rc;
  if (kind == 0) {
    auto fn = app ? (api ? api->id128_get_machine_app_specific : nullptr) : nullptr;
    if (app) rc = fn ? fn(app_id, &out) : -ENOSYS;
    else rc = api && api->id128_get_machine ? api->id128_get_machine(&out) : -ENOSYS;
  } else {
    auto fn = app ? (api ? api->id128_get_boot_app_specific : nullptr) : nullptr;
    if (app) rc = fn ? fn(app_id, &out) : -ENOSYS;
    else rc = api && api->id128_get_boot ? api->id128_get_boot(&out) : -ENOSYS;
  }
  if (rc < 0) return Napi::Number::New(env, rc);
  return Hex(env, out);
}

// pid_unit(pid: number, kind: 0 unit, 1 user unit, 2 slice): string | -errno (-ENODATA: none)
Napi::Value PidUnit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const sd::Api* api = Api(env);
  pid_t pid = static_cast<pid_t>(ArgIntIn(info, 0, 0, INT_MAX));
  int kind = ArgInt(info, 1);
  int (*fn)(pid_t, char**) = nullptr;
  if (api != nullptr) fn = kind == 0 ? api->pid_get_unit : kind == 1 ? api->pid_get_user_unit : api->pid_get_slice;
  if (fn == nullptr) return Errno(env, ENOSYS);
  char* s = nullptr;
  int rc = fn(pid, &s);
  if (rc < 0) return Napi::Number::New(env, rc);
  Napi::String out = Napi::String::New(env, s);
  free(s);
  return out;
}

}  // namespace

void RegisterId128(Napi::Env env, Napi::Object exports) {
  exports.Set("id128", Napi::Function::New(env, Id128, "id128"));
  exports.Set("pid_unit", Napi::Function::New(env, PidUnit, "pid_unit"));
}

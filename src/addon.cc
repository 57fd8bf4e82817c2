// addon.cc: module init only. Registers every export in one place and the per-environment
// state; the addon is context-aware (main thread and workers each get their own instance).
#include "glibc_compat.h"
#include <napi.h>

#include "common.h"
#include "daemon.h"
#include "journal.h"
#include "journal_queue.h"
#include "poll.h"
#include "reader.h"
#include "id128.h"
#include "unix.h"

namespace {

// Bumped whenever an export's signature changes; lib/native.ts refuses any other value.
constexpr int kBindingVersion = 10;

// libsystemd_open(soname: string): string | null  null when loaded, else the dlopen error.
//   The first call in the process decides (dlopen is process-wide); this env keeps the table.
Napi::Value LibsystemdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "soname must be a string");
  std::string error;
  const sd::Api* api = sd::Open(info[0].As<Napi::String>().Utf8Value(), &error);
  env.GetInstanceData<AddonState>()->api = api;
  if (api != nullptr) return env.Null();
  return Napi::String::New(env, error);
}

// libsystemd_symbols(): string[]  the sd_* symbols that resolved (empty when not loaded)
Napi::Value LibsystemdSymbols(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (Api(env) == nullptr) return out;
  for (const std::string& s : sd::ResolvedSymbols()) out.Set(out.Length(), Napi::String::New(env, s));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonState());
  exports.Set("BINDING_VERSION", Napi::Number::New(env, kBindingVersion));
  exports.Set("libsystemd_open", Napi::Function::New(env, LibsystemdOpen, "libsystemd_open"));
  exports.Set("libsystemd_symbols", Napi::Function::New(env, LibsystemdSymbols, "libsystemd_symbols"));
  RegisterDaemon(env, exports);
  RegisterJournal(env, exports);
  RegisterJournalQueue(env, exports);
  RegisterUnix(env, exports);
  RegisterPoll(env, exports);
  RegisterReader(env, exports);
  RegisterId128(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(systemd_native, Init)

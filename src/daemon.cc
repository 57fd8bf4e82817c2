// daemon.cc: thin wrappers over sd_listen_fds*, sd_*notify*, sd_watchdog_enabled, sd_booted
// and sd_is_*. No policy here: validation and error objects live in lib/ (TypeScript).
#include "glibc_compat.h"
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <string>

#include "common.h"

namespace {

#define REQUIRE_SYMBOL(env, fn)              \
  const sd::Api* api = Api(env);             \
  if (api == nullptr || api->fn == nullptr) return Errno(env, ENOSYS);

// listen_fds(unset: boolean): number  n >= 0, or -errno
Napi::Value ListenFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unset = ArgBool(info, 0);
  REQUIRE_SYMBOL(env, listen_fds);
  return Napi::Number::New(env, api->listen_fds(unset));
}

// listen_fds_with_names(unset: boolean): string[] | number  names (one per fd), or -errno
Napi::Value ListenFdsWithNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unset = ArgBool(info, 0);
  REQUIRE_SYMBOL(env, listen_fds_with_names);
  char** names = nullptr;
  int n = api->listen_fds_with_names(unset, &names);
  if (n < 0) return Napi::Number::New(env, n);
  Napi::Array out = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) out.Set(i, Napi::String::New(env, names && names[i] ? names[i] : ""));
  // libsystemd allocates the vector and each string with malloc (strv_free semantics).
  if (names != nullptr) {
    for (char** p = names; *p != nullptr; p++) free(*p);
    free(names);
  }
  return out;
}

// notify(pid: number, unset: boolean, state: Buffer, fds: number[] | null): number
//   >0 sent, 0 no $NOTIFY_SOCKET, <0 -errno. pid 0 means this process.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = ArgIntIn(info, 0, 0, INT_MAX);
  bool unset = ArgBool(info, 1);
  auto buf = ArgBuffer(info, 2);
  std::vector<int> fds = ArgFds(info, 3);
  // sd_notify takes a C string: the TS layer has already refused NUL bytes.
  std::string state(reinterpret_cast<const char*>(buf.Data()), buf.Length());
  const sd::Api* api = Api(env);
  if (api == nullptr) return Errno(env, ENOSYS);
  if (api->pid_notify_with_fds != nullptr) {
    return Napi::Number::New(env, api->pid_notify_with_fds(pid, unset, state.c_str(), fds.data(), fds.size()));
  }
  if (pid != 0 || !fds.empty() || api->notify == nullptr) return Errno(env, ENOSYS);
  return Napi::Number::New(env, api->notify(unset, state.c_str()));
}

// The barrier blocks for up to its timeout, so it runs on the libuv thread pool.
class BarrierWorker : public Napi::AsyncWorker {
 public:
  BarrierWorker(Napi::Env env, const sd::Api* api, bool unset, uint64_t timeout)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), api_(api),
        unset_(unset), timeout_(timeout) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { rc_ = api_->notify_barrier(unset_, timeout_); }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), rc_)); }

 private:
  Napi::Promise::Deferred deferred_;
  const sd::Api* api_;
  bool unset_;
  uint64_t timeout_;
  int rc_ = 0;
};

// notify_barrier(unset: boolean, timeoutUsec: bigint): Promise<number>  1 done, 0 no socket, <0 -errno
Napi::Value NotifyBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unset = ArgBool(info, 0);
  if (!info[1].IsBigInt()) throw Napi::TypeError::New(env, "timeout must be a bigint");
  bool lossless = false;
  uint64_t timeout = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  // A negative or > 2^64 - 1 bigint is not wrapped into some other timeout.
  if (!lossless) {
    Napi::Error e = Napi::RangeError::New(env, "The value of \"timeout\" is out of range. It must be >= 0n && <= 18446744073709551615n");
    e.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
    throw e;
  }
  const sd::Api* api = Api(env);
  if (api == nullptr || api->notify_barrier == nullptr) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Errno(env, ENOSYS));
    return d.Promise();
  }
  auto* w = new BarrierWorker(env, api, unset, timeout);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// watchdog_enabled(unset: boolean): [number, bigint]  rc (>0 enabled, 0 off, <0 -errno), usec
Napi::Value WatchdogEnabled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool unset = ArgBool(info, 0);
  REQUIRE_SYMBOL(env, watchdog_enabled);
  uint64_t usec = 0;
  int rc = api->watchdog_enabled(unset, &usec);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, rc));
  out.Set(1u, Napi::BigInt::New(env, rc > 0 ? usec : 0));
  return out;
}

// booted(): number  >0 yes, 0 no, <0 -errno
Napi::Value Booted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_SYMBOL(env, booted);
  return Napi::Number::New(env, api->booted());
}

// An optional path argument: null/undefined gives nullptr.
std::string OptPath(const Napi::CallbackInfo& info, size_t i, bool* present) {
  *present = !(info[i].IsNull() || info[i].IsUndefined());
  if (!*present) return std::string();
  if (info[i].IsBuffer()) {
    auto b = info[i].As<Napi::Buffer<uint8_t>>();
    return std::string(reinterpret_cast<const char*>(b.Data()), b.Length());
  }
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string or Buffer");
  return info[i].As<Napi::String>().Utf8Value();
}

// is_fifo(fd: number, path: string | null): number  >0 yes, 0 no, <0 -errno
Napi::Value IsFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  bool has = false;
  std::string path = OptPath(info, 1, &has);
  REQUIRE_SYMBOL(env, is_fifo);
  return Napi::Number::New(env, api->is_fifo(fd, has ? path.c_str() : nullptr));
}

// is_socket(fd, family, type, listening): number
Napi::Value IsSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0), family = ArgInt(info, 1), type = ArgInt(info, 2), listening = ArgInt(info, 3);
  REQUIRE_SYMBOL(env, is_socket);
  return Napi::Number::New(env, api->is_socket(fd, family, type, listening));
}

// is_socket_inet(fd, family, type, listening, port): number
Napi::Value IsSocketInet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0), family = ArgInt(info, 1), type = ArgInt(info, 2), listening = ArgInt(info, 3);
  int port = ArgIntIn(info, 4, 0, 65535);
  REQUIRE_SYMBOL(env, is_socket_inet);
  return Napi::Number::New(env, api->is_socket_inet(fd, family, type, listening, static_cast<uint16_t>(port)));
}

// is_socket_unix(fd, type, listening, path: Buffer | null): number
//   path bytes are passed with their exact length (abstract names start with a NUL byte).
Napi::Value IsSocketUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0), type = ArgInt(info, 1), listening = ArgInt(info, 2);
  bool has = false;
  std::string path = OptPath(info, 3, &has);
  REQUIRE_SYMBOL(env, is_socket_unix);
  return Napi::Number::New(env, api->is_socket_unix(fd, type, listening, has ? path.data() : nullptr,
                                                    has ? path.size() : 0));
}

}  // namespace

void RegisterDaemon(Napi::Env env, Napi::Object exports) {
  exports.Set("listen_fds", Napi::Function::New(env, ListenFds, "listen_fds"));
  exports.Set("listen_fds_with_names", Napi::Function::New(env, ListenFdsWithNames, "listen_fds_with_names"));
  exports.Set("notify", Napi::Function::New(env, Notify, "notify"));
  exports.Set("notify_barrier", Napi::Function::New(env, NotifyBarrier, "notify_barrier"));
  exports.Set("watchdog_enabled", Napi::Function::New(env, WatchdogEnabled, "watchdog_enabled"));
  exports.Set("booted", Napi::Function::New(env, Booted, "booted"));
  exports.Set("is_fifo", Napi::Function::New(env, IsFifo, "is_fifo"));
  exports.Set("is_socket", Napi::Function::New(env, IsSocket, "is_socket"));
  exports.Set("is_socket_inet", Napi::Function::New(env, IsSocketInet, "is_socket_inet"));
  exports.Set("is_socket_unix", Napi::Function::New(env, IsSocketUnix, "is_socket_unix"));
}

// poll.cc: poll_start / poll_stop over uv_poll_t on the environment's own event loop.
// The watcher holds the loop open while active (as any pending I/O does) and is closed when
// stopped or when the environment is torn down (worker exit). Each watcher holds an async
// cleanup hook until its close callback has run: Node unloads an addon that only a worker
// loaded when that worker's environment ends, and a close callback must not outlive the code.
#include "glibc_compat.h"
#include "poll.h"

#include <uv.h>

#include <errno.h>

#include <memory>

#include "common.h"

struct Watcher {
  uv_poll_t handle;
  napi_env env = nullptr;
  Napi::FunctionReference callback;
  bool active = false;
  bool closing = false;
  int32_t id = 0;
  napi_async_cleanup_hook_handle hook = nullptr;
};

namespace {

// The last callback of a watcher: only now may Node finish tearing the environment down.
void OnClose(uv_handle_t* h) {
  Watcher* w = static_cast<Watcher*>(h->data);
  napi_async_cleanup_hook_handle hook = w->hook;
  delete w;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
}

void Close(Watcher* w) {
  if (w->closing) return;
  w->closing = true;
  w->active = false;
  uv_poll_stop(&w->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClose);
}

// Runs on the loop thread. Uses the C API on purpose: a C++ exception must never escape into
// libuv (it would std::terminate the process). An exception thrown by the callback is reported
// like any uncaught exception of an I/O callback; while the environment is being torn down
// (a worker terminated), calls into JavaScript fail and are simply dropped.
void OnEvent(uv_poll_t* h, int status, int events) {
  Watcher* w = static_cast<Watcher*>(h->data);
  if (!w->active || w->callback.IsEmpty()) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value global, fn, arg, result;
  bool ok = napi_get_global(env, &global) == napi_ok &&
            napi_get_reference_value(env, w->callback, &fn) == napi_ok &&
            napi_create_int32(env, status < 0 ? status : events, &arg) == napi_ok;
  if (ok) {
    // MakeCallback: runs microtasks and keeps async hooks consistent, as for any I/O callback.
    napi_status st = napi_make_callback(env, nullptr, global, fn, 1, &arg, &result);
    if (st == napi_pending_exception) {
      napi_value error;
      napi_valuetype type = napi_undefined;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok && napi_typeof(env, error, &type) == napi_ok &&
          type != napi_undefined && type != napi_null) {
        napi_fatal_exception(env, error);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

void CleanupHook(napi_async_cleanup_hook_handle, void* arg) {
  Watcher* w = static_cast<Watcher*>(arg);
  w->callback.Reset();
  Close(w);
}

// poll_start(fd: number, events: number, callback: (events: number) => void): number
//   events: uv's bits (1 readable, 2 writable, 8 prioritized: POLLPRI, e.g. a PSI trigger).
//   A watcher id > 0 (pass it to poll_stop), or a negative uv error; the callback gets the uv
//   events that fired or a negative uv error. Throws only for wrong argument types.
Napi::Value PollStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  int events = ArgInt(info, 1) & (UV_READABLE | UV_WRITABLE | UV_PRIORITIZED);
  if (events == 0) return Napi::Number::New(env, UV_EINVAL);
  if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "no event loop");
  auto w = std::make_unique<Watcher>();
  int rc = uv_poll_init(loop, &w->handle, fd);
  if (rc < 0) return Napi::Number::New(env, rc);
  w->handle.data = w.get();
  w->env = env;
  w->callback = Napi::Persistent(info[2].As<Napi::Function>());
  w->active = true;
  uv_poll_start(&w->handle, events, OnEvent);
  Watcher* raw = w.release();
  napi_add_async_cleanup_hook(env, CleanupHook, raw, &raw->hook);
  // JavaScript only holds an id: lifetime is managed by poll_stop / the cleanup hook.
  AddonState* state = env.GetInstanceData<AddonState>();
  raw->id = state->next_watcher++;
  state->watchers[raw->id] = raw;
  return Napi::Number::New(env, raw->id);
}

// poll_stop(watcher: number): void  stops and closes the watcher (an unknown id is ignored)
Napi::Value PollStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonState* state = env.GetInstanceData<AddonState>();
  auto it = state->watchers.find(ArgInt(info, 0));
  if (it == state->watchers.end()) return env.Undefined();
  Watcher* w = it->second;
  state->watchers.erase(it);
  // The hook stays registered until the close callback has run (OnClose removes it).
  if (!w->closing) {
    w->callback.Reset();
    Close(w);
  }
  return env.Undefined();
}

}  // namespace

void RegisterPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("poll_start", Napi::Function::New(env, PollStart, "poll_start"));
  exports.Set("poll_stop", Napi::Function::New(env, PollStop, "poll_stop"));
}

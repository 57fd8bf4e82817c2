// common.h: per-environment addon state and the small argument helpers every area shares.
// Expected failures travel as negative errno values; only wrong JS types throw.
#pragma once

#include <limits.h>
#include <napi.h>

#include <unordered_map>
#include <vector>

#include "libsystemd.h"

struct Watcher;
struct JournalQueue;

// One per Node environment (main thread, each worker): no mutable statics elsewhere.
struct AddonState {
  const sd::Api* api = nullptr;  // set by libsystemd_open() when the library loaded
  // poll watchers by id (JavaScript holds the id, not a pointer): see poll.cc
  std::unordered_map<int32_t, Watcher*> watchers;
  int32_t next_watcher = 1;
  // the journal sender of this environment (journal_queue.cc); it owns its own teardown
  JournalQueue* journal_queue = nullptr;
  // the journal readers of this environment (reader.cc): stopped at teardown
  void* readers = nullptr;
};

inline const sd::Api* Api(const Napi::Env& env) { return env.GetInstanceData<AddonState>()->api; }

// Argument helpers: throw Napi::TypeError (a backstop behind the TypeScript validation).
// Numbers are never truncated: a fraction, NaN or a value outside the C type throws a RangeError
// with code ERR_OUT_OF_RANGE (Int32Value() would turn 2^32 into 0, i.e. fd 0).
int ArgInt(const Napi::CallbackInfo& info, size_t i);
// An int within [min, max].
int ArgIntIn(const Napi::CallbackInfo& info, size_t i, double min, double max);
// `v` as an integer within [min, max], else the RangeError above naming `what`.
double IntIn(const Napi::Env& env, const Napi::Value& v, double min, double max, const std::string& what);
bool ArgBool(const Napi::CallbackInfo& info, size_t i);
Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i);
// An array of fds (numbers); null/undefined gives an empty list.
std::vector<int> ArgFds(const Napi::CallbackInfo& info, size_t i);
// A Buffer or an array of Buffers, appended as iovecs pointing into the Buffers' memory
// (valid while the JS values are alive, i.e. for the duration of the call).
void ArgIovecs(const Napi::CallbackInfo& info, size_t i, std::vector<struct iovec>* out);

// -errno as a JS number (keeps the C-shaped "int" convention).
inline Napi::Value Errno(const Napi::Env& env, int e) { return Napi::Number::New(env, -e); }

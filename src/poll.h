// poll.h: a libuv poll watcher on a raw fd, so TypeScript can wait for "writable" without a
// timer or a thread (used to flush the journal queue when journald has room again).
#pragma once

#include <napi.h>

void RegisterPoll(Napi::Env env, Napi::Object exports);

// unix.h: raw AF_UNIX and fd primitives for the TypeScript backend (the "native" transport),
// used when libsystemd itself is absent. Each returns >= 0 on success or -errno.
#pragma once

#include <napi.h>

void RegisterUnix(Napi::Env env, Napi::Object exports);

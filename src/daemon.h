// daemon.h: sd-daemon calls (activation, notify, watchdog, booted, fd checks).
// Each returns libsystemd's int convention; -ENOSYS when the symbol is missing.
#pragma once

#include <napi.h>

void RegisterDaemon(Napi::Env env, Napi::Object exports);

// id128.h: machine/boot ids and the unit of a process (id128.cc).
#pragma once

#include <napi.h>

void RegisterId128(Napi::Env env, Napi::Object exports);

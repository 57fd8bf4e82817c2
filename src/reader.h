// reader.h: the journal reader (reader.cc), one thread per reader.
#pragma once

#include <napi.h>

void RegisterReader(Napi::Env env, Napi::Object exports);

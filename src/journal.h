// journal.h: sd_journal_sendv and sd_journal_stream_fd.
// Both return libsystemd's int convention; -ENOSYS when the symbol is missing.
#pragma once

#include <napi.h>

void RegisterJournal(Napi::Env env, Napi::Object exports);

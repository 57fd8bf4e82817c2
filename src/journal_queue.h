// journal_queue.h: the journal sender behind journal.send(): a non-blocking datagram socket
// connected to journald, an ordered, bounded native queue for entries journald cannot take yet,
// drained from libuv without entering JavaScript, and a synchronous drain at every exit path
// (environment teardown, worker terminate, process exit).
#pragma once

#include <napi.h>

void RegisterJournalQueue(Napi::Env env, Napi::Object exports);

// A sealed, close-on-exec memfd holding `len` bytes (libsystemd's way to pass entries too large
// for one datagram), or -errno. Defined in unix.cc.
int MemfdSealedFd(const char* name, const struct iovec* iov, size_t n);

// journal_queue.h: the journal sender behind journal.send(): a non-blocking datagram socket
// connected to journald, an ordered, bounded native queue for entries journald cannot take yet,
// drained from libuv without entering JavaScript, and a synchronous drain at every exit path
// (environment teardown, worker terminate, process exit).
#pragma once

#include <napi.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

void RegisterJournalQueue(Napi::Env env, Napi::Object exports);

// A sealed, close-on-exec memfd holding `len` bytes (libsystemd's way to pass entries too large
// for one datagram), or -errno. Defined in unix.cc.
int MemfdSealedFd(const char* name, const struct iovec* iov, size_t n);

// sendmsg(MSG_NOSIGNAL) of iov to `to` (nullptr: the connected peer) with fds (SCM_RIGHTS) and
// credentials (SCM_CREDENTIALS) when given, retried on EINTR: the bytes sent, or -errno.
// Defined in unix.cc.
ssize_t SendmsgFds(int fd, const struct sockaddr_un* to, socklen_t tolen, const struct iovec* iov, size_t n, const int* fds, size_t nfds,
                   const struct ucred* cred);

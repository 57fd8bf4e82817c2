// libsystemd.h: the sd_* calls the addon uses, resolved one by one from a dlopen'd
// libsystemd.so.0. The library is never linked, so building needs only a C++ compiler.
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <string>
#include <vector>

namespace sd {

// Prototypes copied from sd-daemon.h / sd-journal.h (stable ABI since LIBSYSTEMD_209..246).
// A member is nullptr when the symbol is missing: that disables only that call.
struct Api {
  int (*listen_fds)(int unset_environment);
  int (*listen_fds_with_names)(int unset_environment, char*** names);
  int (*notify)(int unset_environment, const char* state);
  int (*pid_notify_with_fds)(pid_t pid, int unset_environment, const char* state,
                             const int* fds, unsigned n_fds);
  int (*notify_barrier)(int unset_environment, uint64_t timeout);
  int (*watchdog_enabled)(int unset_environment, uint64_t* usec);
  int (*booted)(void);
  int (*is_fifo)(int fd, const char* path);
  int (*is_socket)(int fd, int family, int type, int listening);
  int (*is_socket_inet)(int fd, int family, int type, int listening, uint16_t port);
  int (*is_socket_unix)(int fd, int type, int listening, const char* path, size_t length);
  int (*journal_sendv)(const struct iovec* iov, int n);
  int (*journal_stream_fd)(const char* identifier, int priority, int level_prefix);
};

// Opens `soname` the first time it is called in the process; every later call (from any
// thread or worker) returns the first outcome. Returns nullptr and fills *error on failure.
// The table is written once under std::call_once and only read afterwards.
const Api* Open(const std::string& soname, std::string* error);

// Names of the sd_* symbols that resolved, for capability reports.
std::vector<std::string> ResolvedSymbols();

}  // namespace sd

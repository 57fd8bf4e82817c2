// libsystemd.h: the sd_* calls the addon uses, resolved one by one from a dlopen'd
// libsystemd.so.0. The library is never linked, so building needs only a C++ compiler.
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <string>
#include <vector>

// sd-journal's reader types (sd-journal.h, sd-id128.h).
typedef struct sd_journal sd_journal;
typedef union sd_id128 {
  uint8_t bytes[16];
  uint64_t qwords[2];
} sd_id128_t;

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
  // the reader (reader.cc); the *_available_* enumerators are v246+, namespaces v245+
  int (*journal_open)(sd_journal** ret, int flags);
  int (*journal_open_namespace)(sd_journal** ret, const char* name_space, int flags);
  int (*journal_open_directory)(sd_journal** ret, const char* path, int flags);
  int (*journal_open_files)(sd_journal** ret, const char** paths, int flags);
  void (*journal_close)(sd_journal* j);
  int (*journal_next)(sd_journal* j);
  int (*journal_previous)(sd_journal* j);
  int (*journal_next_skip)(sd_journal* j, uint64_t skip);
  int (*journal_previous_skip)(sd_journal* j, uint64_t skip);
  int (*journal_seek_head)(sd_journal* j);
  int (*journal_seek_tail)(sd_journal* j);
  int (*journal_seek_realtime_usec)(sd_journal* j, uint64_t usec);
  int (*journal_seek_cursor)(sd_journal* j, const char* cursor);
  int (*journal_get_cursor)(sd_journal* j, char** cursor);
  int (*journal_test_cursor)(sd_journal* j, const char* cursor);
  int (*journal_get_realtime_usec)(sd_journal* j, uint64_t* ret);
  int (*journal_get_monotonic_usec)(sd_journal* j, uint64_t* ret, sd_id128_t* ret_boot_id);
  int (*journal_set_data_threshold)(sd_journal* j, size_t sz);
  void (*journal_restart_data)(sd_journal* j);
  int (*journal_enumerate_data)(sd_journal* j, const void** data, size_t* l);
  int (*journal_enumerate_available_data)(sd_journal* j, const void** data, size_t* l);
  int (*journal_add_match)(sd_journal* j, const void* data, size_t size);
  int (*journal_add_disjunction)(sd_journal* j);
  int (*journal_add_conjunction)(sd_journal* j);
  int (*journal_get_fd)(sd_journal* j);
  int (*journal_get_events)(sd_journal* j);
  int (*journal_get_timeout)(sd_journal* j, uint64_t* timeout_usec);
  int (*journal_process)(sd_journal* j);
  int (*journal_query_unique)(sd_journal* j, const char* field);
  int (*journal_enumerate_unique)(sd_journal* j, const void** data, size_t* l);
  int (*journal_enumerate_available_unique)(sd_journal* j, const void** data, size_t* l);
  void (*journal_restart_unique)(sd_journal* j);
  int (*journal_enumerate_fields)(sd_journal* j, const char** field);
  void (*journal_restart_fields)(sd_journal* j);
  int (*journal_get_usage)(sd_journal* j, uint64_t* bytes);
  // ids and the unit of a process (id128.cc)
  int (*id128_get_machine)(sd_id128_t* ret);
  int (*id128_get_boot)(sd_id128_t* ret);
  int (*id128_get_machine_app_specific)(sd_id128_t app_id, sd_id128_t* ret);
  int (*id128_get_boot_app_specific)(sd_id128_t app_id, sd_id128_t* ret);
  int (*pid_get_unit)(pid_t pid, char** unit);
  int (*pid_get_user_unit)(pid_t pid, char** unit);
  int (*pid_get_slice)(pid_t pid, char** slice);
};

// Opens `soname` the first time it is called in the process; every later call (from any
// thread or worker) returns the first outcome. Returns nullptr and fills *error on failure.
// The table is written once under std::call_once and only read afterwards.
const Api* Open(const std::string& soname, std::string* error);

// Names of the sd_* symbols that resolved, for capability reports.
std::vector<std::string> ResolvedSymbols();

}  // namespace sd

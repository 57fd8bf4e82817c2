// libsystemd.cc: dlopen/dlsym of libsystemd.so.0, once per process.
// Each symbol is looked up on its own so an old libsystemd still serves the calls it has.
#include "glibc_compat.h"
#include "libsystemd.h"

#include <dlfcn.h>

#include <mutex>

namespace sd {
namespace {

struct Symbol {
  const char* name;
  void** slot;
};

Api api{};
bool opened = false;
std::string open_error;
std::vector<std::string> resolved;
std::once_flag once;

void DoOpen(const std::string& soname) {
  // RTLD_LOCAL keeps libsystemd's symbols out of the global namespace of the process.
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* e = dlerror();
    open_error = e != nullptr ? e : "dlopen failed";
    return;
  }
  const Symbol table[] = {
      {"sd_listen_fds", reinterpret_cast<void**>(&api.listen_fds)},
      {"sd_listen_fds_with_names", reinterpret_cast<void**>(&api.listen_fds_with_names)},
      {"sd_notify", reinterpret_cast<void**>(&api.notify)},
      {"sd_pid_notify_with_fds", reinterpret_cast<void**>(&api.pid_notify_with_fds)},
      {"sd_notify_barrier", reinterpret_cast<void**>(&api.notify_barrier)},
      {"sd_watchdog_enabled", reinterpret_cast<void**>(&api.watchdog_enabled)},
      {"sd_booted", reinterpret_cast<void**>(&api.booted)},
      {"sd_is_fifo", reinterpret_cast<void**>(&api.is_fifo)},
      {"sd_is_socket", reinterpret_cast<void**>(&api.is_socket)},
      {"sd_is_socket_inet", reinterpret_cast<void**>(&api.is_socket_inet)},
      {"sd_is_socket_unix", reinterpret_cast<void**>(&api.is_socket_unix)},
      {"sd_journal_sendv", reinterpret_cast<void**>(&api.journal_sendv)},
      {"sd_journal_stream_fd", reinterpret_cast<void**>(&api.journal_stream_fd)},
      {"sd_journal_open", reinterpret_cast<void**>(&api.journal_open)},
      {"sd_journal_open_namespace", reinterpret_cast<void**>(&api.journal_open_namespace)},
      {"sd_journal_open_directory", reinterpret_cast<void**>(&api.journal_open_directory)},
      {"sd_journal_open_files", reinterpret_cast<void**>(&api.journal_open_files)},
      {"sd_journal_close", reinterpret_cast<void**>(&api.journal_close)},
      {"sd_journal_next", reinterpret_cast<void**>(&api.journal_next)},
      {"sd_journal_previous", reinterpret_cast<void**>(&api.journal_previous)},
      {"sd_journal_next_skip", reinterpret_cast<void**>(&api.journal_next_skip)},
      {"sd_journal_previous_skip", reinterpret_cast<void**>(&api.journal_previous_skip)},
      {"sd_journal_seek_head", reinterpret_cast<void**>(&api.journal_seek_head)},
      {"sd_journal_seek_tail", reinterpret_cast<void**>(&api.journal_seek_tail)},
      {"sd_journal_seek_realtime_usec", reinterpret_cast<void**>(&api.journal_seek_realtime_usec)},
      {"sd_journal_seek_cursor", reinterpret_cast<void**>(&api.journal_seek_cursor)},
      {"sd_journal_get_cursor", reinterpret_cast<void**>(&api.journal_get_cursor)},
      {"sd_journal_test_cursor", reinterpret_cast<void**>(&api.journal_test_cursor)},
      {"sd_journal_get_realtime_usec", reinterpret_cast<void**>(&api.journal_get_realtime_usec)},
      {"sd_journal_get_monotonic_usec", reinterpret_cast<void**>(&api.journal_get_monotonic_usec)},
      {"sd_journal_set_data_threshold", reinterpret_cast<void**>(&api.journal_set_data_threshold)},
      {"sd_journal_restart_data", reinterpret_cast<void**>(&api.journal_restart_data)},
      {"sd_journal_enumerate_data", reinterpret_cast<void**>(&api.journal_enumerate_data)},
      {"sd_journal_enumerate_available_data", reinterpret_cast<void**>(&api.journal_enumerate_available_data)},
      {"sd_journal_add_match", reinterpret_cast<void**>(&api.journal_add_match)},
      {"sd_journal_add_disjunction", reinterpret_cast<void**>(&api.journal_add_disjunction)},
      {"sd_journal_add_conjunction", reinterpret_cast<void**>(&api.journal_add_conjunction)},
      {"sd_journal_get_fd", reinterpret_cast<void**>(&api.journal_get_fd)},
      {"sd_journal_get_events", reinterpret_cast<void**>(&api.journal_get_events)},
      {"sd_journal_get_timeout", reinterpret_cast<void**>(&api.journal_get_timeout)},
      {"sd_journal_process", reinterpret_cast<void**>(&api.journal_process)},
      {"sd_journal_query_unique", reinterpret_cast<void**>(&api.journal_query_unique)},
      {"sd_journal_enumerate_unique", reinterpret_cast<void**>(&api.journal_enumerate_unique)},
      {"sd_journal_enumerate_available_unique", reinterpret_cast<void**>(&api.journal_enumerate_available_unique)},
      {"sd_journal_restart_unique", reinterpret_cast<void**>(&api.journal_restart_unique)},
      {"sd_journal_enumerate_fields", reinterpret_cast<void**>(&api.journal_enumerate_fields)},
      {"sd_journal_restart_fields", reinterpret_cast<void**>(&api.journal_restart_fields)},
      {"sd_journal_get_usage", reinterpret_cast<void**>(&api.journal_get_usage)},
      {"sd_id128_get_machine", reinterpret_cast<void**>(&api.id128_get_machine)},
      {"sd_id128_get_boot", reinterpret_cast<void**>(&api.id128_get_boot)},
      {"sd_id128_get_machine_app_specific", reinterpret_cast<void**>(&api.id128_get_machine_app_specific)},
      {"sd_id128_get_boot_app_specific", reinterpret_cast<void**>(&api.id128_get_boot_app_specific)},
      {"sd_pid_get_unit", reinterpret_cast<void**>(&api.pid_get_unit)},
      {"sd_pid_get_user_unit", reinterpret_cast<void**>(&api.pid_get_user_unit)},
      {"sd_pid_get_slice", reinterpret_cast<void**>(&api.pid_get_slice)},
  };
  for (const Symbol& s : table) {
    *s.slot = dlsym(handle, s.name);
    if (*s.slot != nullptr) resolved.emplace_back(s.name);
  }
  // The handle is kept for the life of the process: other threads may be inside sd_* calls.
  opened = true;
}

}  // namespace

const Api* Open(const std::string& soname, std::string* error) {
  std::call_once(once, DoOpen, soname);
  if (!opened && error != nullptr) *error = open_error;
  return opened ? &api : nullptr;
}

std::vector<std::string> ResolvedSymbols() {
  // Only called after Open() returned in the calling thread (call_once synchronises).
  return opened ? resolved : std::vector<std::string>();
}

}  // namespace sd

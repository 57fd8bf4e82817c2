// journal.cc: the journal calls of libsystemd. The iovecs point straight into the caller's
// Buffers (no copy); the Buffers stay alive because the call is synchronous.
#include "glibc_compat.h"
#include "journal.h"

#include <errno.h>

#include <string>
#include <vector>

#include "common.h"

namespace {

// journal_sendv(fields: Buffer | Buffer[]): number  0 sent (or no journal socket), <0 -errno
//   Each Buffer is one "NAME=value" field (value bytes verbatim; no trailing newline).
Napi::Value JournalSendv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<struct iovec> iov;
  ArgIovecs(info, 0, &iov);
  const sd::Api* api = Api(env);
  if (api == nullptr || api->journal_sendv == nullptr) return Errno(env, ENOSYS);
  return Napi::Number::New(env, api->journal_sendv(iov.data(), static_cast<int>(iov.size())));
}

// journal_stream_fd(identifier: string | null, priority: number, levelPrefix: boolean): number
//   a new write-only stream fd, or -errno
Napi::Value JournalStreamFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool has_id = info[0].IsString();
  std::string id = has_id ? info[0].As<Napi::String>().Utf8Value() : std::string();
  int priority = ArgInt(info, 1);
  bool prefix = ArgBool(info, 2);
  const sd::Api* api = Api(env);
  if (api == nullptr || api->journal_stream_fd == nullptr) return Errno(env, ENOSYS);
  return Napi::Number::New(env, api->journal_stream_fd(has_id ? id.c_str() : nullptr, priority, prefix));
}

}  // namespace

void RegisterJournal(Napi::Env env, Napi::Object exports) {
  exports.Set("journal_sendv", Napi::Function::New(env, JournalSendv, "journal_sendv"));
  exports.Set("journal_stream_fd", Napi::Function::New(env, JournalStreamFd, "journal_stream_fd"));
}

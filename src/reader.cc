// reader.cc: the journal reader. Each reader owns one sd_journal on a thread of its own for its
// whole life (libsystemd's reader is not thread-safe and must stay on the thread that opened
// it), never on the libuv pool and never on the event loop's thread. JavaScript queues commands;
// the thread runs them in order and hands each result back through a thread-safe function, as a
// batch of entries in one Buffer (no per-entry crossing). Following waits on sd_journal_get_fd()
// with poll() on the reader's thread and calls sd_journal_process() on every wake; an eventfd
// interrupts the wait when a command (or close) arrives.
//
// SIGBUS: a journal file truncated under a mapping makes the next access fault (247 to 262)
// (vacuuming, a disk full). A handler installed with the first reader replaces the faulting page
// with zeros when, and only when, the fault happens on a reader thread inside a libsystemd call;
// the reader is marked broken, its call fails with EIO, and everything it read since is
// discarded. A SIGBUS anywhere else goes to the previous handler (default: the process dies).
#include "glibc_compat.h"
#include "reader.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace {

enum Op : int {
  kAddMatch = 0,
  kDisjunction = 1,
  kConjunction = 2,
  kSeekHead = 4,
  kSeekTail = 5,
  kSeekRealtime = 6,
  kSeekCursor = 7,
  kRead = 8,
  kSkip = 9,
  kCursor = 10,
  kTestCursor = 11,
  kUnique = 12,
  kFields = 13,
  kUsage = 14,
  kWait = 15,
  kClose = 16,
};

// Value kinds in a batch (top two bits of a field's length).
constexpr uint32_t kAscii = 0u << 30;
constexpr uint32_t kUtf8 = 1u << 30;
constexpr uint32_t kBinary = 2u << 30;

struct Command {
  int op = 0;
  std::string text;        // match, cursor, field name
  double a = 0, b = 0, c = 0, d = 0;
  std::vector<std::string> only;  // kRead: the fields to keep (empty: all)
  napi_deferred deferred = nullptr;
};

struct Reader;

struct Result {
  Reader* reader = nullptr;
  bool last = false;  // the close: the thread ends after it
  napi_deferred deferred = nullptr;
  int rc = 0;
  std::string text;                  // kCursor
  std::vector<std::string> strings;  // kUnique (values), kFields (names)
  std::string batch;                 // kRead
  double number = 0;                 // kUsage
  bool has_text = false, has_strings = false, has_batch = false, has_number = false;
};

thread_local Reader* tl_reader = nullptr;  // set while a reader thread is inside libsystemd
std::atomic<int> g_sigbus_installed{0};
struct sigaction g_old_sigbus;

struct Reader {
  const sd::Api* api = nullptr;
  Napi::ThreadSafeFunction tsfn;
  pthread_t thread{};
  bool started = false;
  int wake = -1;  // eventfd: a command or an interrupt is waiting
  std::mutex mu;
  std::deque<std::unique_ptr<Command>> queue;
  bool closing = false;   // no more commands (guarded by mu)
  int pending = 0;        // calls whose promise is not settled yet (main thread only)
  bool joined = false;
  int32_t id = 0;
  std::atomic<bool> broken{false};  // a SIGBUS hit this reader's mapping

  // open arguments
  int flags = 0;
  std::string ns, directory;
  bool has_ns = false, has_directory = false;
  std::vector<std::string> files;
  size_t threshold = 0;

  // thread-side state
  sd_journal* j = nullptr;
  int open_rc = 0;
};

void SigbusHandler(int sig, siginfo_t* si, void* uc) {
  Reader* r = tl_reader;
  if (r != nullptr && si != nullptr) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t addr = reinterpret_cast<uintptr_t>(si->si_addr) & ~static_cast<uintptr_t>(page - 1);
    void* p = mmap(reinterpret_cast<void*>(addr), static_cast<size_t>(page), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) {
      r->broken.store(true);
      return;
    }
  }
  // Not ours: what would have happened without this handler.
  if (g_old_sigbus.sa_flags & SA_SIGINFO) {
    if (g_old_sigbus.sa_sigaction != nullptr) return g_old_sigbus.sa_sigaction(sig, si, uc);
  } else if (g_old_sigbus.sa_handler != SIG_DFL && g_old_sigbus.sa_handler != SIG_IGN && g_old_sigbus.sa_handler != nullptr) {
    return g_old_sigbus.sa_handler(sig);
  }
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void InstallSigbus() {
  int expected = 0;
  if (!g_sigbus_installed.compare_exchange_strong(expected, 1)) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = SigbusHandler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &g_old_sigbus);
}

// Marks the calling thread as inside libsystemd for this reader (SIGBUS containment).
struct InJournal {
  explicit InJournal(Reader* r) { tl_reader = r; }
  ~InJournal() { tl_reader = nullptr; }
};

int ValueKind(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] < 0x80) i++;
  if (i == n) return 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07;
    else return 2;
    if (i + len > n) return 2;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return 2;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return 2;
    i += len;
  }
  return 1;
}

void Put32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutF64(std::string* out, double v) { out->append(reinterpret_cast<const char*>(&v), 8); }

bool Wanted(const std::vector<std::string>& only, const uint8_t* d, size_t n) {
  if (only.empty()) return true;
  const void* eq = memchr(d, '=', n);
  size_t name = eq ? static_cast<size_t>(static_cast<const uint8_t*>(eq) - d) : n;
  for (const std::string& f : only)
    if (f.size() == name && memcmp(f.data(), d, name) == 0) return true;
  return false;
}

// Appends the current entry: cursor, realtime, monotonic, boot id, fields. 1, or -errno.
int AppendEntry(Reader* r, const std::vector<std::string>& only, std::string* out) {
  const sd::Api* api = r->api;
  char* cursor = nullptr;
  int rc = api->journal_get_cursor(r->j, &cursor);
  if (rc < 0) return rc;
  uint64_t realtime = 0, monotonic = 0;
  sd_id128_t boot;
  memset(&boot, 0, sizeof(boot));
  api->journal_get_realtime_usec(r->j, &realtime);
  api->journal_get_monotonic_usec(r->j, &monotonic, &boot);
  size_t start = out->size();
  uint32_t clen = static_cast<uint32_t>(strlen(cursor));
  Put32(out, clen);
  out->append(cursor, clen);
  free(cursor);
  PutF64(out, static_cast<double>(realtime));
  PutF64(out, static_cast<double>(monotonic));
  static const char hex[] = "0123456789abcdef";
  char bid[32];
  for (int i = 0; i < 16; i++) {
    bid[2 * i] = hex[boot.bytes[i] >> 4];
    bid[2 * i + 1] = hex[boot.bytes[i] & 15];
  }
  out->append(bid, 32);
  size_t count_at = out->size();
  Put32(out, 0);
  uint32_t count = 0;
  const void* data;
  size_t len;
  api->journal_restart_data(r->j);
  auto enumerate = api->journal_enumerate_available_data ? api->journal_enumerate_available_data : api->journal_enumerate_data;
  uint32_t skipped = 0;
  for (;;) {
    rc = enumerate(r->j, &data, &len);
    if (rc <= 0) break;
    const uint8_t* d = static_cast<const uint8_t*>(data);
    // A corrupted data object: no '=' within its payload, or an empty name. Skipped and counted
    // (journalctl -o export stops at it with "Invalid field."), never read past its end.
    const void* eq = memchr(d, '=', len);
    if (eq == nullptr || eq == d) {
      skipped++;
      continue;
    }
    if (!Wanted(only, d, len)) continue;
    size_t vstart = static_cast<size_t>(static_cast<const uint8_t*>(eq) - d) + 1;
    int kind = ValueKind(d + vstart, len - vstart);
    Put32(out, static_cast<uint32_t>(len) | (kind == 0 ? kAscii : kind == 1 ? kUtf8 : kBinary));
    out->append(static_cast<const char*>(data), len);
    count++;
  }
  if (rc < 0 && !api->journal_enumerate_available_data) {
    out->resize(start);
    return rc;
  }
  // The field count's top 12 bits: the fields skipped as corrupted (journald keeps at most a
  // few thousand fields per entry, far below 2^20).
  uint32_t word = count | (std::min<uint32_t>(skipped, 0xfff) << 20);
  memcpy(&(*out)[count_at], &word, 4);
  return 1;
}

// kRead: up to a entries, direction b (1 forward, -1 backward), c: 1 include the current entry
// first, d: stop before an entry past this realtime (forward: later than, backward: earlier than; 0: none).
void Read(Reader* r, const Command& cmd, Result* res) {
  const sd::Api* api = r->api;
  size_t max = static_cast<size_t>(cmd.a);
  bool forward = cmd.b >= 0;
  bool current = cmd.c > 0;
  double limit = cmd.d;
  std::string& out = res->batch;
  Put32(&out, 0);  // count
  Put32(&out, 0);  // 1: the end was reached
  uint32_t n = 0;
  uint32_t end = 0;
  int rc = 0;
  while (n < max) {
    if (current) {
      current = false;
      rc = 1;
    } else {
      rc = forward ? api->journal_next(r->j) : api->journal_previous(r->j);
    }
    if (rc < 0) break;
    if (rc == 0) {
      end = 1;
      break;
    }
    if (limit > 0) {
      uint64_t t = 0;
      if (api->journal_get_realtime_usec(r->j, &t) >= 0 && (forward ? static_cast<double>(t) > limit : static_cast<double>(t) < limit)) {
        // Step back so a later read starts here again.
        forward ? api->journal_previous(r->j) : api->journal_next(r->j);
        end = 1;
        break;
      }
    }
    rc = AppendEntry(r, cmd.only, &out);
    if (rc == -EADDRNOTAVAIL) continue;  // the entry vanished (rotated away): skip it
    if (rc < 0) break;
    n++;
    rc = 0;
  }
  memcpy(&out[0], &n, 4);
  memcpy(&out[4], &end, 4);
  res->rc = rc < 0 ? rc : 0;
  res->has_batch = true;
}

int Wait(Reader* r, double timeout_ms) {
  const sd::Api* api = r->api;
  int fd = api->journal_get_fd(r->j);
  if (fd < 0) return fd;
  struct pollfd p[2] = {{fd, static_cast<short>(api->journal_get_events ? api->journal_get_events(r->j) : POLLIN), 0}, {r->wake, POLLIN, 0}};
  if (p[0].events < 0) p[0].events = POLLIN;
  // Clamped, never cast out of range (2^31 ms would become INT_MIN: wait forever); JS chains longer waits.
  int timeout = timeout_ms < 0 ? -1 : timeout_ms >= INT_MAX ? INT_MAX : static_cast<int>(timeout_ms);
  uint64_t t = 0;
  if (api->journal_get_timeout && api->journal_get_timeout(r->j, &t) >= 0 && t != UINT64_MAX) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
    uint64_t left_ms = t > now ? (t - now + 999) / 1000 : 0;
    int inotify_ms = left_ms >= INT_MAX ? INT_MAX : static_cast<int>(left_ms);
    if (timeout < 0 || inotify_ms < timeout) timeout = inotify_ms;
  }
  uint64_t v;
  if (read(r->wake, &v, sizeof(v)) < 0) {
    // nothing was pending
  }
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (!r->queue.empty()) return 3;
  }
  int pr;
  do pr = poll(p, 2, timeout);
  while (pr < 0 && errno == EINTR);
  if (pr < 0) return -errno;
  if (p[1].revents & POLLIN) return 3;  // interrupted: a command is waiting
  return api->journal_process(r->j);
}

void Run(Reader* r, Command& cmd, Result* res) {
  const sd::Api* api = r->api;
  InJournal in(r);
  if (r->open_rc < 0 && cmd.op != kClose) {
    res->rc = r->open_rc;
    return;
  }
  switch (cmd.op) {
    case kAddMatch: res->rc = api->journal_add_match(r->j, cmd.text.data(), cmd.text.size()); break;
    case kDisjunction: res->rc = api->journal_add_disjunction(r->j); break;
    case kConjunction: res->rc = api->journal_add_conjunction(r->j); break;
    case kSeekHead: res->rc = api->journal_seek_head(r->j); break;
    case kSeekTail: res->rc = api->journal_seek_tail(r->j); break;
    case kSeekRealtime: res->rc = api->journal_seek_realtime_usec(r->j, static_cast<uint64_t>(cmd.a)); break;
    case kSeekCursor: res->rc = api->journal_seek_cursor(r->j, cmd.text.c_str()); break;
    case kRead: Read(r, cmd, res); break;
    case kSkip: {
      uint64_t n = static_cast<uint64_t>(cmd.a < 0 ? -cmd.a : cmd.a);
      res->rc = cmd.a < 0 ? api->journal_previous_skip(r->j, n) : api->journal_next_skip(r->j, n);
      break;
    }
    case kCursor: {
      char* c = nullptr;
      res->rc = api->journal_get_cursor(r->j, &c);
      if (res->rc >= 0) {
        res->text = c;
        res->has_text = true;
        free(c);
      }
      break;
    }
    case kTestCursor: res->rc = api->journal_test_cursor(r->j, cmd.text.c_str()); break;
    case kUnique: {
      res->rc = api->journal_query_unique(r->j, cmd.text.c_str());
      if (res->rc < 0) break;
      const void* data;
      size_t len;
      api->journal_restart_unique(r->j);
      auto enumerate = api->journal_enumerate_available_unique ? api->journal_enumerate_available_unique : api->journal_enumerate_unique;
      int e;
      while ((e = enumerate(r->j, &data, &len)) > 0) {
        size_t skip = cmd.text.size() + 1;
        if (len >= skip) res->strings.emplace_back(static_cast<const char*>(data) + skip, len - skip);
      }
      if (e < 0 && !api->journal_enumerate_available_unique) res->rc = e;
      res->has_strings = true;
      break;
    }
    case kFields: {
      const char* field;
      // libsystemd 247 cuts every field name to the data threshold, 0 ("no limit" for values)
      // included, and then refuses the empty name with EBADMSG: no limit at all while listing.
      api->journal_set_data_threshold(r->j, SIZE_MAX);
      api->journal_restart_fields(r->j);
      int e;
      while ((e = api->journal_enumerate_fields(r->j, &field)) > 0) res->strings.emplace_back(field);
      api->journal_set_data_threshold(r->j, r->threshold);
      res->rc = e < 0 ? e : 0;
      res->has_strings = true;
      break;
    }
    case kUsage: {
      uint64_t bytes = 0;
      res->rc = api->journal_get_usage(r->j, &bytes);
      res->number = static_cast<double>(bytes);
      res->has_number = true;
      break;
    }
    case kWait: res->rc = Wait(r, cmd.a); break;
    case kClose:
      if (r->j != nullptr) api->journal_close(r->j);
      r->j = nullptr;
      break;
    default: res->rc = -EINVAL;
  }
  if (r->broken.load()) {
    // A mapped journal file was truncated under this call: what it produced is not trusted.
    res->rc = -EIO;
    res->batch.clear();
    res->has_batch = false;
    res->strings.clear();
  }
}

void Deliver(Napi::Env env, Napi::Function, Result* res);
void Wake(Reader* r);

void Open(Reader* r) {
  const sd::Api* api = r->api;
  InJournal in(r);
  if (!api->journal_open) {
    r->open_rc = -ENOSYS;
    return;
  }
  if (!r->files.empty()) {
    std::vector<const char*> paths;
    for (const std::string& f : r->files) paths.push_back(f.c_str());
    paths.push_back(nullptr);
    r->open_rc = api->journal_open_files ? api->journal_open_files(&r->j, paths.data(), 0) : -ENOSYS;
  } else if (r->has_directory) {
    r->open_rc = api->journal_open_directory ? api->journal_open_directory(&r->j, r->directory.c_str(), 0) : -ENOSYS;
  } else if (r->has_ns) {
    r->open_rc = api->journal_open_namespace ? api->journal_open_namespace(&r->j, r->ns.c_str(), r->flags) : -ENOSYS;
  } else {
    r->open_rc = api->journal_open(&r->j, r->flags);
  }
  if (r->open_rc >= 0) api->journal_set_data_threshold(r->j, r->threshold);
  if (r->broken.load()) r->open_rc = -EIO;
}

void* ThreadMain(void* arg) {
  Reader* r = static_cast<Reader*>(arg);
  Open(r);
  for (;;) {
    std::unique_ptr<Command> cmd;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      if (!r->queue.empty()) {
        cmd = std::move(r->queue.front());
        r->queue.pop_front();
      }
    }
    if (!cmd) {
      struct pollfd p = {r->wake, POLLIN, 0};
      poll(&p, 1, -1);
      uint64_t v;
      if (read(r->wake, &v, sizeof(v)) < 0) {
        // EAGAIN: another wake already consumed it
      }
      continue;
    }
    auto* res = new Result();
    res->reader = r;
    res->deferred = cmd->deferred;
    bool last = cmd->op == kClose;
    res->last = last;
    Run(r, *cmd, res);
    if (r->tsfn.BlockingCall(res, Deliver) != napi_ok) delete res;  // the environment is going away
    if (last) break;
  }
  if (r->j != nullptr) {
    r->api->journal_close(r->j);
    r->j = nullptr;
  }
  return nullptr;
}

void Wake(Reader* r) {
  uint64_t one = 1;
  if (write(r->wake, &one, sizeof(one)) < 0) {
    // the counter cannot overflow in practice; nothing to do
  }
}

// Stops the thread (closing the journal) and waits for it: environment teardown and GC.
void Shutdown(Reader* r) {
  if (!r->started || r->joined) return;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (!r->closing) {
      r->closing = true;
      auto cmd = std::make_unique<Command>();
      cmd->op = kClose;
      r->queue.push_back(std::move(cmd));
    }
  }
  Wake(r);
  r->tsfn.Abort();
  pthread_join(r->thread, nullptr);
  r->joined = true;
  close(r->wake);
  r->wake = -1;
}

// The environment's readers by id (JavaScript holds the id, not a pointer).
struct ReaderSet {
  std::unordered_map<int32_t, Reader*> readers;
  int32_t next_id = 1;
};

// Runs on the environment's thread (the thread-safe function's callback). It must never throw:
// when a worker is terminated, every call that needs JavaScript fails (napi_pending_exception,
// napi_cannot_run_js) and a C++ exception escaping here aborts the whole process. So the C API,
// each status checked: the bookkeeping first (it needs no JavaScript), then the value; when the
// environment is going away the promise is simply left (its environment ends with it).
void Deliver(Napi::Env napi_env_, Napi::Function, Result* res) {
  std::unique_ptr<Result> owned(res);
  napi_env env = napi_env_;
  if (env == nullptr) return;
  Reader* r = res->reader;
  if (--r->pending == 0) napi_unref_threadsafe_function(env, r->tsfn);
  std::unique_ptr<Reader> gone;
  if (res->last && !r->joined) {
    // The thread ends right after handing this over: join it and free the reader.
    pthread_join(r->thread, nullptr);
    r->joined = true;
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
    close(r->wake);
    r->wake = -1;
    void* data = nullptr;
    ReaderSet* set = nullptr;
    if (napi_get_instance_data(env, &data) == napi_ok && data != nullptr) set = static_cast<ReaderSet*>(static_cast<AddonState*>(data)->readers);
    // Freed here only when it left the set; otherwise the teardown hook frees it (never both).
    if (set != nullptr && set->readers.erase(r->id) == 1) gone.reset(r);
  }
  if (res->deferred == nullptr) return;
  napi_value value = nullptr;
  napi_status st = napi_ok;
  if (res->rc < 0) st = napi_create_int32(env, res->rc, &value);
  else if (res->has_batch) {
    auto* s = new std::string(std::move(res->batch));
    st = napi_create_external_buffer(env, s->size(), &(*s)[0], [](napi_env, void*, void* hint) { delete static_cast<std::string*>(hint); }, s, &value);
    if (st != napi_ok) delete s;
  } else if (res->has_text) st = napi_create_string_utf8(env, res->text.data(), res->text.size(), &value);
  else if (res->has_strings) {
    st = napi_create_array_with_length(env, res->strings.size(), &value);
    for (size_t i = 0; st == napi_ok && i < res->strings.size(); i++) {
      napi_value b;
      void* copy;
      st = napi_create_buffer_copy(env, res->strings[i].size(), res->strings[i].data(), &copy, &b);
      if (st == napi_ok) st = napi_set_element(env, value, static_cast<uint32_t>(i), b);
    }
  } else if (res->has_number) st = napi_create_double(env, res->number, &value);
  else st = napi_create_int32(env, res->rc, &value);
  if (st != napi_ok || value == nullptr) return;  // the environment is terminating
  napi_resolve_deferred(env, res->deferred, value);
}

// Environment teardown: every reader's thread is stopped (its journal closed) and freed.
void Teardown(void* arg) {
  std::unique_ptr<ReaderSet> set(static_cast<ReaderSet*>(arg));
  for (auto& [id, r] : set->readers) {
    Shutdown(r);
    delete r;
  }
}

ReaderSet* Set(napi_env env) {
  AddonState* s = Napi::Env(env).GetInstanceData<AddonState>();
  if (s->readers == nullptr) {
    auto* set = new ReaderSet();
    s->readers = set;
    napi_add_env_cleanup_hook(env, Teardown, set);
  }
  return static_cast<ReaderSet*>(s->readers);
}

// The reader with the id in info[0], or nullptr when it is closed (or never was).
Reader* Find(const Napi::CallbackInfo& info) {
  int32_t id = ArgInt(info, 0);
  auto* set = static_cast<ReaderSet*>(info.Env().GetInstanceData<AddonState>()->readers);
  if (set == nullptr) return nullptr;
  auto it = set->readers.find(id);
  return it == set->readers.end() ? nullptr : it->second;
}

// reader_open(flags, namespace|null, directory|null, files|null, threshold): id (> 0) | -errno.
// The journal is opened on the reader's thread; an open error is every call's result.
Napi::Value ReaderOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const sd::Api* api = Api(env);
  if (api == nullptr || api->journal_open == nullptr) return Errno(env, ENOSYS);
  auto r = std::make_unique<Reader>();
  r->api = api;
  r->flags = ArgInt(info, 0);
  if (info[1].IsString()) r->ns = info[1].As<Napi::String>().Utf8Value(), r->has_ns = true;
  if (info[2].IsString()) r->directory = info[2].As<Napi::String>().Utf8Value(), r->has_directory = true;
  if (info[3].IsArray()) {
    Napi::Array a = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) r->files.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  r->threshold = info[4].IsNumber() ? static_cast<size_t>(IntIn(env, info[4], 0, 9007199254740991.0, "threshold")) : 0;
  r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->wake < 0) return Errno(env, errno);
  r->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "libsystemd journal reader", 0, 1);
  r->tsfn.Unref(env);
  InstallSigbus();
  Reader* raw = r.get();
  int e = pthread_create(&raw->thread, nullptr, ThreadMain, raw);
  if (e != 0) {
    raw->tsfn.Release();
    close(raw->wake);
    return Errno(env, e);
  }
  raw->started = true;
  ReaderSet* set = Set(env);
  raw->id = set->next_id++;
  set->readers[raw->id] = raw;
  r.release();
  return Napi::Number::New(env, raw->id);
}

// reader_call(id, op, text|Buffer|null, a, b, c, d, only|null): Promise<value | -errno>
Napi::Value ReaderCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Reader* r = Find(info);
  auto cmd = std::make_unique<Command>();
  cmd->op = ArgInt(info, 1);
  if (info[2].IsString()) cmd->text = info[2].As<Napi::String>().Utf8Value();
  else if (info[2].IsBuffer()) {
    Napi::Buffer<char> b = info[2].As<Napi::Buffer<char>>();
    cmd->text.assign(b.Data(), b.Length());
  }
  cmd->a = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : 0;
  cmd->b = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
  cmd->c = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : 0;
  cmd->d = info[6].IsNumber() ? info[6].As<Napi::Number>().DoubleValue() : 0;
  if (info[7].IsArray()) {
    Napi::Array a = info[7].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) cmd->only.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
  napi_deferred deferred;
  napi_value promise;
  // Fails only while the environment is terminating: nothing to answer, nothing may throw.
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return env.Undefined();
  if (r == nullptr) {
    napi_resolve_deferred(env, deferred, Errno(env, EBADF));
    return Napi::Value(env, promise);
  }
  // The numbers become size_t/uint64_t/int on the reader's thread: NaN or beyond +-2^63 would be an
  // undefined cast (the TypeScript layer refuses them first).
  for (double x : {cmd->a, cmd->b, cmd->c, cmd->d}) {
    if (!(x >= -9.2e18 && x <= 9.2e18)) {
      napi_resolve_deferred(env, deferred, Errno(env, ERANGE));
      return Napi::Value(env, promise);
    }
  }
  {
    std::lock_guard<std::mutex> lock(r->mu);
    if (r->closing || r->joined) {
      napi_resolve_deferred(env, deferred, Errno(env, EBADF));
      return Napi::Value(env, promise);
    }
    if (cmd->op == kClose) r->closing = true;
    cmd->deferred = deferred;
    r->queue.push_back(std::move(cmd));
  }
  // A call in flight keeps the event loop alive (a follower waiting for entries, a query).
  if (r->pending++ == 0) napi_ref_threadsafe_function(env, r->tsfn);
  Wake(r);
  return Napi::Value(env, promise);
}

// reader_interrupt(id): ends a pending wait (it resolves 3).
Napi::Value ReaderInterrupt(const Napi::CallbackInfo& info) {
  Reader* r = Find(info);
  if (r != nullptr && !r->joined) Wake(r);
  return info.Env().Undefined();
}

}  // namespace

void RegisterReader(Napi::Env env, Napi::Object exports) {
  exports.Set("reader_open", Napi::Function::New(env, ReaderOpen, "reader_open"));
  exports.Set("reader_call", Napi::Function::New(env, ReaderCall, "reader_call"));
  exports.Set("reader_interrupt", Napi::Function::New(env, ReaderInterrupt, "reader_interrupt"));
}

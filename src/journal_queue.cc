// journal_queue.cc: the sender behind journal.send(), one per Node environment (main thread,
// each worker).
//
// - send: one non-blocking sendmsg on a datagram socket connected to journald; an entry too large
//   for a datagram goes through a sealed memfd, as libsystemd does.
// - queue: an entry journald cannot take yet (EAGAIN, or journald restarting) is copied into an
//   ordered native queue. libuv's poll watcher on the socket drains it with sendmsg until EAGAIN,
//   without entering JavaScript; a timer retries while there is no socket and gives a queue up
//   after maxStallMs without progress (counted, reported to JavaScript).
// - bound: past maxQueueBytes the sending call waits for room while journald makes progress, as a
//   blocking C sender would; only when journald accepts nothing for maxBlockMs is an entry dropped
//   (counted, warned once per episode). Memory stays bounded either way.
// - exit: whatever is still queued is drained synchronously, waiting for journald with poll() until
//   exitTimeoutMs pass without progress, in the environment's async cleanup hook (natural end of
//   the main thread, a worker's end or terminate(), before Node unloads the addon) and in an
//   atexit handler (process.exit(), uncaught exceptions: Node's exit handler skips the cleanup
//   hooks of the main environment). What cannot be delivered is counted and reported on stderr.
//   libuv handles are closed and their callbacks have run before the hook reports completion, so
//   no callback into this library runs after Node unloads it.
#include "glibc_compat.h"
#include "journal_queue.h"

#include <uv.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <new>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"

// A chunk's memory, mapped from the kernel and unmapped when the chunk goes: from malloc, the
// 64 KiB chunks of a burst (up to maxQueueBytes) stayed in the process after the queue drained
// (below glibc's mmap threshold, freed between V8's allocations): RSS grew by up to 12.7 MB over
// 1,000,000 sends and never came back (measured with test/fixtures/leaks.cjs; flat with
// MALLOC_MMAP_THRESHOLD_=32768, and flat with this).
struct Unmap {
  size_t len;
  void operator()(char* p) const {
    if (p != nullptr) munmap(p, len);
  }
};
using ChunkMemory = std::unique_ptr<char[], Unmap>;

static ChunkMemory MapChunk(size_t cap) {
  void* p = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return ChunkMemory(static_cast<char*>(p), Unmap{cap});
}

// An ordered FIFO of entries in 64 KiB chunks (an 8-byte length before each entry): memory
// stays close to what is queued, and a burst costs one allocation per chunk, not per entry.
class Fifo {
 public:
  static constexpr size_t kHeader = sizeof(size_t);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  void push(const char* p, size_t len) {
    size_t need = kHeader + len;
    if (chunks_.empty() || chunks_.back().cap - chunks_.back().tail < need) {
      size_t cap = need > kChunk ? need : kChunk;
      chunks_.push_back(Chunk{MapChunk(cap), cap, 0, 0});
    }
    Chunk& c = chunks_.back();
    memcpy(c.data.get() + c.tail, &len, kHeader);
    memcpy(c.data.get() + c.tail + kHeader, p, len);
    c.tail += need;
    count_++;
  }
  const char* front(size_t* len) const {
    const Chunk& c = chunks_.front();
    memcpy(len, c.data.get() + c.head, kHeader);
    return c.data.get() + c.head + kHeader;
  }
  void pop() {
    Chunk& c = chunks_.front();
    size_t len;
    memcpy(&len, c.data.get() + c.head, kHeader);
    c.head += kHeader + len;
    count_--;
    if (c.head < c.tail) return;
    if (chunks_.size() == 1 && c.cap == kChunk) {
      c.head = c.tail = 0;  // keep the last chunk: the next burst needs no allocation
    } else {
      chunks_.pop_front();
    }
  }
  void clear() {
    chunks_.clear();
    count_ = 0;
  }

 private:
  static constexpr size_t kChunk = 64 << 10;
  struct Chunk {
    ChunkMemory data;
    size_t cap, head, tail;
  };
  std::deque<Chunk> chunks_;
  size_t count_ = 0;
};

struct JournalQueue {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  struct sockaddr_un addr;
  socklen_t addr_len = 0;
  int fd = -1;
  bool connected = false;
  bool ever_sent = false;
  Fifo entries;
  double queued_bytes = 0;  // memory held by the queue: entries and their length headers

  double max_queue_bytes = 16 << 20;
  double max_stall_ms = 30000;
  double max_block_ms = 1000;
  double exit_timeout_ms = 5000;

  double sent = 0, dropped = 0, via_memfd = 0, accepted = 0, done = 0;
  double blocked_calls = 0, blocked_ms = 0;
  bool stalled = false;  // past the bound, journald accepting nothing: entries are dropped
  uint64_t last_progress = 0;

  uv_poll_t poll;
  uv_timer_t timer;
  bool poll_open = false, timer_open = false, polling = false;
  int open_handles = 0;
  double notify_at = 0;  // > 0: call JavaScript when done reaches it (a flush is waiting)
  napi_ref events = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool torn_down = false;
  // false where the runtime's Node-API has no working libuv (Bun, Deno): JavaScript then drives
  // the flush with jq_pump() on a timer; the bound and the exit drain are the same.
  bool use_libuv = true;
};

namespace {

using Queue = JournalQueue;

constexpr int kRetryMs = 20;  // while journald has no socket (restarting)
// Entries one libuv wake may send: after a stall journald takes a backlog faster than we send
// it, and sending thousands in one callback would stall the event loop (about 1 µs each).
constexpr size_t kWakeBudget = 256;

// What jq_send tells JavaScript.
constexpr int kNoJournal = 0;    // no journal socket (ENOENT before anything was ever sent)
constexpr int kAccepted = 1;     // sent, queued, or dropped with the episode already warned
constexpr int kDroppedWarn = 2;  // dropped: the first of a stall episode (JavaScript warns)
constexpr int kQueued = 3;       // accepted into the queue (where JavaScript pumps: start pumping)

// Events for the JavaScript callback: (kind, value).
constexpr int kEventDone = 1;    // done reached the flush target
constexpr int kEventGaveUp = 2;  // a stalled queue was given up; value = entries dropped

uint64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void SleepMs(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}


// Every live queue of the process, for the atexit drain. Leaked on purpose: it must outlive
// static destruction, and an atexit handler of an unloaded copy of the addon finds it empty.
std::mutex* g_mu = new std::mutex();
std::vector<Queue*>* g_queues = new std::vector<Queue*>();
bool g_atexit = false;

// journald took something: the stall clock restarts. The clock matters only while entries wait
// (the first waiting entry sets it too), so a send straight through does not read it.
void Progress(Queue* s) {
  s->last_progress = NowMs();
  s->stalled = false;
}

// An entry accepted and dropped at once (the bound, journald accepting nothing): counted.
void CountDropped(Queue* s) {
  s->dropped++;
  s->accepted++;
  s->done++;
}

// One datagram on the connected socket (the socket is non-blocking): 0, or -errno.
int SendRaw(int fd, const struct iovec* iov, size_t n, int pass_fd) {
  ssize_t r = SendmsgFds(fd, nullptr, 0, iov, n, pass_fd >= 0 ? &pass_fd : nullptr, pass_fd >= 0 ? 1 : 0, nullptr);
  return r < 0 ? static_cast<int>(r) : 0;
}

// The socket lives as long as the queue (the poll watcher is bound to it); a journald restart
// only needs a new connect() of the same socket.
int Connect(Queue* s) {
  if (s->fd < 0) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    // libsystemd's fd_inc_sndbuf(): large entries fit one datagram.
    int size = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    s->fd = fd;
  }
  if (s->connected) return 0;
  int rc;
  do {
    rc = connect(s->fd, reinterpret_cast<struct sockaddr*>(&s->addr), s->addr_len);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  s->connected = true;
  return 0;
}

// One attempt: 0 sent, -EAGAIN journald's queue is full, other -errno.
int Attempt(Queue* s, const char* data, size_t len) {
  int rc = Connect(s);
  if (rc < 0) return rc;
  struct iovec iov = {const_cast<char*>(data), len};
  rc = SendRaw(s->fd, &iov, 1, -1);
  if (rc == -ECONNREFUSED || rc == -ENOTCONN) {
    // journald restarted: the same socket, connected to the one there now.
    s->connected = false;
    rc = Connect(s);
    if (rc < 0) return rc;
    rc = SendRaw(s->fd, &iov, 1, -1);
  }
  if (rc != -EMSGSIZE && rc != -ENOBUFS) return rc;
  // Too large for a datagram: the same bytes in a sealed memfd, passed as the only content.
  int mfd = MemfdSealedFd("journal-entry", &iov, 1);
  if (mfd < 0) return mfd;
  rc = SendRaw(s->fd, nullptr, 0, mfd);
  close(mfd);
  if (rc == 0) s->via_memfd++;
  return rc;
}

bool Gone(int rc) { return rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTCONN; }

// Sends queued entries until the queue is empty (0), journald is full (-EAGAIN) or gone, or
// `budget` entries went (-EINPROGRESS: more to send; the event loop gets its turn first).
int FlushSome(Queue* s, size_t budget = SIZE_MAX) {
  size_t n = 0;
  int rc = 0;
  for (; !s->entries.empty(); n++) {
    if (n == budget) {
      rc = -EINPROGRESS;
      break;
    }
    size_t len;
    const char* data = s->entries.front(&len);
    rc = Attempt(s, data, len);
    if (rc == -EAGAIN) break;
    if (Gone(rc)) {
      s->connected = false;
      break;
    }
    if (rc == 0) {
      s->sent++;
      s->ever_sent = true;
    } else {
      s->dropped++;  // refused for good (e.g. EPERM from a security module): counted
    }
    s->queued_bytes -= static_cast<double>(Fifo::kHeader + len);
    s->entries.pop();
    s->done++;
    rc = 0;
  }
  if (n > 0) Progress(s);  // entries left: once a pass, not once an entry
  return rc;
}

// Flushes, waiting with poll() for journald's room, until `enough` holds or journald made no
// progress for limit_ms. Blocks the calling thread: for the bound, exits and explicit drains.
template <typename Enough>
bool WaitUntil(Queue* s, Enough enough, double limit_ms) {
  const uint64_t start = NowMs();
  for (;;) {
    int rc = FlushSome(s);
    if (enough()) return true;
    uint64_t ref = std::max(s->last_progress, start);
    uint64_t now = NowMs();
    double left = static_cast<double>(ref) + limit_ms - static_cast<double>(now);
    if (left <= 0) return false;
    int wait = left > 1000 ? 1000 : static_cast<int>(left) + 1;
    if (rc == -EAGAIN && s->connected) {
      struct pollfd p = {s->fd, POLLOUT, 0};
      while (::poll(&p, 1, wait) < 0 && errno == EINTR) {
      }
    } else {
      SleepMs(std::min(wait, kRetryMs));
    }
  }
}

// Drops everything queued (counted) and returns how many.
double DropAll(Queue* s) {
  double n = static_cast<double>(s->entries.size());
  s->dropped += n;
  s->done += n;
  s->entries.clear();
  s->queued_bytes = 0;
  return n;
}


// The loss report at exit, written whole: stderr may be a non-blocking pipe whose reader is slow
// (Node makes fd 2 non-blocking once process.stderr is used), where one write() gives EAGAIN or a
// part. Waits for room with poll() up to 2 s in all, never longer.
static void WriteAllStderr(const char* p, size_t len) {
  int waited_ms = 0;
  while (len > 0) {
    ssize_t w = write(2, p, len);
    if (w > 0) {
      p += w;
      len -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waited_ms < 2000) {
      struct pollfd pfd = {2, POLLOUT, 0};
      poll(&pfd, 1, 50);
      waited_ms += 50;
      continue;
    }
    return;
  }
}

// The exit drain: every queued entry delivered, or counted and reported on stderr.
void ExitDrain(Queue* s) {
  if (s->entries.empty()) return;
  WaitUntil(s, [s] { return s->entries.empty(); }, s->exit_timeout_ms);
  if (s->entries.empty()) return;
  double lost = DropAll(s);
  char msg[256];
  int n = snprintf(msg, sizeof(msg),
                   "libsystemd: %.0f journal entries were not delivered: journald accepted nothing for %.0f ms at exit "
                   "(journal.configure({ exitTimeoutMs }))\n",
                   lost, s->exit_timeout_ms);
  if (n > 0) WriteAllStderr(msg, static_cast<size_t>(std::min(n, static_cast<int>(sizeof(msg) - 1))));
}

void AtExit() {
  std::lock_guard<std::mutex> lock(*g_mu);
  for (Queue* s : *g_queues) ExitDrain(s);
}

void CallJs(Queue* s, int kind, double value) {
  if (s->events == nullptr || s->torn_down) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value global, fn, argv[2], result;
  bool ok = napi_get_global(env, &global) == napi_ok && napi_get_reference_value(env, s->events, &fn) == napi_ok &&
            fn != nullptr && napi_create_int32(env, kind, &argv[0]) == napi_ok &&
            napi_create_double(env, value, &argv[1]) == napi_ok;
  if (ok && napi_make_callback(env, nullptr, global, fn, 2, argv, &result) == napi_pending_exception) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

void OnWritable(uv_poll_t* h, int status, int events);
void OnTimer(uv_timer_t* h);

// The handles keep the loop alive only while a flush() is waiting: at every exit the drain
// delivers the rest.
void UpdateRef(Queue* s) {
  if (!s->use_libuv) return;
  bool want = s->notify_at > 0;
  if (s->poll_open) want ? uv_ref(reinterpret_cast<uv_handle_t*>(&s->poll)) : uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  if (s->timer_open) want ? uv_ref(reinterpret_cast<uv_handle_t*>(&s->timer)) : uv_unref(reinterpret_cast<uv_handle_t*>(&s->timer));
}

void Arm(Queue* s) {
  if (s->torn_down || !s->use_libuv) return;
  if (!s->timer_open) {
    uv_timer_init(s->loop, &s->timer);
    s->timer.data = s;
    s->timer_open = true;
    s->open_handles++;
    UpdateRef(s);
  }
  if (s->entries.empty()) {
    if (s->polling) uv_poll_stop(&s->poll);
    s->polling = false;
    uv_timer_stop(&s->timer);
    return;
  }
  if (s->connected && s->fd >= 0) {
    if (!s->poll_open) {
      if (uv_poll_init(s->loop, &s->poll, s->fd) == 0) {
        s->poll.data = s;
        s->poll_open = true;
        s->open_handles++;
        UpdateRef(s);
      }
    }
    if (s->poll_open && !s->polling) s->polling = uv_poll_start(&s->poll, UV_WRITABLE, OnWritable) == 0;
  } else if (s->polling) {
    // An unconnected datagram socket is always writable: watch the clock instead.
    uv_poll_stop(&s->poll);
    s->polling = false;
  }
  // In doubles: maxStallMs may be Infinity or past 2^64 (a cast would be undefined, a sum wrap to "now").
  double left = static_cast<double>(s->last_progress) + s->max_stall_ms - static_cast<double>(NowMs());
  uint64_t due = left <= 0 ? 0 : left >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(left);
  if (!s->polling) due = std::min<uint64_t>(due, kRetryMs);
  uv_timer_start(&s->timer, OnTimer, due, 0);
}

void Settle(Queue* s) {
  Arm(s);
  if (s->notify_at > 0 && s->done >= s->notify_at) {
    s->notify_at = 0;
    UpdateRef(s);
    CallJs(s, kEventDone, s->done);
  }
}

void OnWritable(uv_poll_t* h, int status, int events) {
  Queue* s = static_cast<Queue*>(h->data);
  if (s->torn_down) return;
  FlushSome(s, kWakeBudget);
  Settle(s);
}

void OnTimer(uv_timer_t* h) {
  Queue* s = static_cast<Queue*>(h->data);
  if (s->torn_down) return;
  FlushSome(s, kWakeBudget);
  if (!s->entries.empty() && static_cast<double>(NowMs() - s->last_progress) >= s->max_stall_ms) {
    double lost = DropAll(s);
    Arm(s);
    CallJs(s, kEventGaveUp, lost);
  }
  Settle(s);
}

void Finish(Queue* s) {
  if (s->fd >= 0) close(s->fd);
  napi_async_cleanup_hook_handle hook = s->hook;
  delete s;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
}

void OnHandleClosed(uv_handle_t* h) {
  Queue* s = static_cast<Queue*>(h->data);
  if (--s->open_handles == 0) Finish(s);
}

// The environment is going away (main thread's natural end, a worker's end or terminate()):
// drain, then close the handles; Node waits for Finish before it unloads the addon.
void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  Queue* s = static_cast<Queue*>(arg);
  {
    std::lock_guard<std::mutex> lock(*g_mu);
    g_queues->erase(std::remove(g_queues->begin(), g_queues->end(), s), g_queues->end());
  }
  ExitDrain(s);
  s->torn_down = true;
  if (s->events != nullptr) napi_delete_reference(s->env, s->events);
  s->events = nullptr;
  if (s->open_handles == 0) return Finish(s);
  if (s->poll_open) {
    if (s->polling) uv_poll_stop(&s->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnHandleClosed);
  }
  if (s->timer_open) {
    uv_timer_stop(&s->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->timer), OnHandleClosed);
  }
}

// For runtimes without async cleanup hooks (some Node-API implementations outside Node): the
// same drain; the handles are closed without waiting for their callbacks.
void OnTeardownSync(void* arg) { OnTeardown(nullptr, arg); }

Queue* Get(const Napi::Env& env) {
  Queue* s = env.GetInstanceData<AddonState>()->journal_queue;
  if (s == nullptr) throw Napi::Error::New(env, "jq_init() was not called");
  return s;
}

// jq_init(path: Buffer, events: (kind: number, value: number) => void, useLibuv: boolean): void
//   creates this environment's queue for the journal socket at path (once per environment);
//   without libuv, JavaScript calls jq_pump() while entries are queued.
Napi::Value JqInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonState* state = env.GetInstanceData<AddonState>();
  if (state->journal_queue != nullptr) throw Napi::Error::New(env, "jq_init() was already called");
  Napi::Buffer<uint8_t> path = ArgBuffer(info, 0);
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "events must be a function");
  auto* s = new Queue();
  memset(&s->addr, 0, sizeof(s->addr));
  s->addr.sun_family = AF_UNIX;
  if (path.Length() == 0 || path.Length() >= sizeof(s->addr.sun_path)) {
    delete s;
    throw Napi::RangeError::New(env, "journal socket path too long");
  }
  memcpy(s->addr.sun_path, path.Data(), path.Length());
  s->addr_len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.Length() + 1);
  s->env = env;
  s->use_libuv = info.Length() < 3 || !info[2].IsBoolean() || info[2].As<Napi::Boolean>().Value();
  if (s->use_libuv && (napi_get_uv_event_loop(env, &s->loop) != napi_ok || s->loop == nullptr)) {
    delete s;
    throw Napi::Error::New(env, "no event loop");
  }
  napi_create_reference(env, info[1], 1, &s->events);
  if (napi_add_async_cleanup_hook(env, OnTeardown, s, &s->hook) != napi_ok) {
    s->hook = nullptr;
    if (napi_add_env_cleanup_hook(env, OnTeardownSync, s) != napi_ok) {
      napi_delete_reference(env, s->events);
      delete s;
      throw Napi::Error::New(env, "no Node-API cleanup hook: the journal queue cannot be drained at exit");
    }
  }
  {
    std::lock_guard<std::mutex> lock(*g_mu);
    g_queues->push_back(s);
    if (!g_atexit) g_atexit = atexit(AtExit) == 0;
  }
  state->journal_queue = s;
  return env.Undefined();
}

// One entry in order behind the queue: kAccepted, kNoJournal, kDroppedWarn, kQueued or -errno.
int SendOne(Queue* s, const char* data, size_t len) {
  // Order: queued entries go first. While journald is behind, an attempt is mostly a failed
  // sendmsg (EAGAIN), so a call tries only every 64th queued entry: the poll watcher (or the
  // pump) drains the queue, and at the bound the wait below does.
  if (!s->entries.empty() && (s->entries.size() & 63) == 0) FlushSome(s, 64);
  if (s->entries.empty()) {
    int rc = Attempt(s, data, len);
    if (rc == 0) {
      s->sent++;
      s->accepted++;
      s->done++;
      s->ever_sent = true;
      s->stalled = false;
      return kAccepted;
    }
    // journald was there and is gone (restarting): keep the entry for the next one.
    bool restarting = s->ever_sent && Gone(rc);
    if (rc == -ENOENT && !restarting) return kNoJournal;
    if (rc != -EAGAIN && !restarting) return rc;
    if (restarting) s->connected = false;
    // The stall clock starts with the first waiting entry.
    s->last_progress = NowMs();
  }
  const double need = static_cast<double>(Fifo::kHeader + len);
  if (s->queued_bytes + need > s->max_queue_bytes && !s->entries.empty()) {
    if (!s->stalled) {
      // Past the bound: wait for room while journald makes progress, as a blocking C sender.
      const uint64_t t0 = NowMs();
      bool room = WaitUntil(s, [s, need] { return s->entries.empty() || s->queued_bytes + need <= s->max_queue_bytes; }, s->max_block_ms);
      s->blocked_calls++;
      s->blocked_ms += static_cast<double>(NowMs() - t0);
      if (!room) {
        s->stalled = true;
        CountDropped(s);
        Arm(s);
        return kDroppedWarn;
      }
    } else {
      CountDropped(s);
      return kAccepted;
    }
  }
  s->entries.push(data, len);
  s->queued_bytes += need;
  s->accepted++;
  Arm(s);
  return s->use_libuv ? kAccepted : kQueued;
}

// jq_send(entry: Buffer): number  1 sent or queued (or dropped, episode already warned),
//   2 dropped as the first of a stall episode, 3 queued where JavaScript pumps, 0 no journal
//   socket, or -errno.
Napi::Value JqSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  Napi::Buffer<uint8_t> b = ArgBuffer(info, 0);
  return Napi::Number::New(env, SendOne(s, reinterpret_cast<const char*>(b.Data()), b.Length()));
}

std::atomic<bool> g_no_sendmmsg{false};

// jq_send_many(entries, ends, count): 1 when every entry was accepted (kAccepted), else an
//   array of each entry's result as jq_send gives it. Entry i is entries[ends[i-1]..ends[i]).
//   While nothing waits in the queue, runs of entries go out with one sendmmsg each; anything
//   else (a full journald, an entry too large for a datagram, a restart) takes SendOne's path
//   from the entry that did not go.
Napi::Value JqSendMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  Napi::Buffer<uint8_t> b = ArgBuffer(info, 0);
  Napi::Uint32Array ends = info[1].As<Napi::Uint32Array>();
  size_t count = static_cast<size_t>(ArgIntIn(info, 2, 0, INT_MAX));
  if (count > ends.ElementLength()) count = ends.ElementLength();
  const char* base = reinterpret_cast<const char*>(b.Data());
  const size_t total = b.Length();
  constexpr size_t kBatch = 64;
  struct mmsghdr msgs[kBatch];
  struct iovec iov[kBatch];
  std::vector<int> results;  // filled only once a result is not kAccepted
  auto span = [&](size_t i, size_t* len) {
    size_t from = i == 0 ? 0 : ends[i - 1];
    size_t to = ends[i];
    if (to > total) to = total;
    if (from > to) from = to;
    *len = to - from;
    return base + from;
  };
  auto note = [&](size_t i, int rc) {
    if (rc == kAccepted && results.empty()) return;
    if (results.empty()) results.assign(i, kAccepted);
    results.push_back(rc);
  };
  size_t i = 0;
  while (i < count) {
    size_t k = 0;
    if (!g_no_sendmmsg && s->entries.empty() && Connect(s) == 0) {
      for (; k < kBatch && i + k < count; k++) {
        size_t len;
        const char* p = span(i + k, &len);
        iov[k] = {const_cast<char*>(p), len};
        memset(&msgs[k], 0, sizeof(msgs[k]));
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      // The system call itself: glibc's wrapper is 2.14's, and the prebuild loads on 2.9.
      int r;
      do r = static_cast<int>(syscall(SYS_sendmmsg, s->fd, msgs, static_cast<unsigned>(k), MSG_NOSIGNAL));
      while (r < 0 && errno == EINTR);
      if (r < 0 && errno == ENOSYS) g_no_sendmmsg = true;  // a kernel before 3.0
      size_t went = r > 0 ? static_cast<size_t>(r) : 0;
      if (went > 0) {
        s->sent += static_cast<double>(went);
        s->accepted += static_cast<double>(went);
        s->done += static_cast<double>(went);
        s->ever_sent = true;
        s->stalled = false;
        for (size_t j = 0; j < went; j++) note(i + j, kAccepted);
        i += went;
      }
      if (went == k) continue;
    }
    // The entry that did not go (or a queue to keep in order): the single-entry path.
    size_t len;
    const char* p = span(i, &len);
    note(i, SendOne(s, p, len));
    i++;
  }
  if (results.empty()) return Napi::Number::New(env, kAccepted);
  Napi::Array out = Napi::Array::New(env, results.size());
  for (size_t j = 0; j < results.size(); j++) out.Set(static_cast<uint32_t>(j), Napi::Number::New(env, results[j]));
  return out;
}

// jq_exit_drain(): void  the exit drain (delivered, or counted and reported on stderr), for a
//   runtime whose process.exit() runs no C atexit handler (Bun): called from its 'exit' event.
Napi::Value JqExitDrain(const Napi::CallbackInfo& info) {
  ExitDrain(Get(info.Env()));
  return info.Env().Undefined();
}

// jq_pump(): [queued, droppedNow, done]  where there is no libuv: one wake's worth of flushing
//   (what the poll watcher does), and the stall check (what the timer does).
Napi::Value JqPump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  FlushSome(s, kWakeBudget);
  double lost = 0;
  if (!s->entries.empty() && static_cast<double>(NowMs() - s->last_progress) >= s->max_stall_ms) lost = DropAll(s);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, static_cast<double>(s->entries.size()));
  out.Set(1u, lost);
  out.Set(2u, s->done);
  return out;
}

// jq_stats(): { sent, queued, queuedBytes, dropped, viaMemfd, blockedCalls, blockedMs, accepted, done }
Napi::Value JqStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("sent", s->sent);
  o.Set("queued", static_cast<double>(s->entries.size()));
  o.Set("queuedBytes", s->queued_bytes);
  o.Set("dropped", s->dropped);
  o.Set("viaMemfd", s->via_memfd);
  o.Set("blockedCalls", s->blocked_calls);
  o.Set("blockedMs", s->blocked_ms);
  o.Set("accepted", s->accepted);
  o.Set("done", s->done);
  return o;
}

// jq_configure(maxQueueBytes, maxStallMs, maxBlockMs, exitTimeoutMs): void  (a negative value keeps)
Napi::Value JqConfigure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  double* fields[] = {&s->max_queue_bytes, &s->max_stall_ms, &s->max_block_ms, &s->exit_timeout_ms};
  for (size_t i = 0; i < 4; i++) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "argument " + std::to_string(i) + " must be a number");
    double v = info[i].As<Napi::Number>().DoubleValue();
    if (v >= 0) *fields[i] = v;
  }
  if (!s->entries.empty()) Arm(s);
  return env.Undefined();
}

// jq_notify_at(target: number): boolean  true when `done` already reached target; else the
//   events callback gets (1, done) once it does (and the handles keep the loop alive until then).
//   0 cancels.
Napi::Value JqNotifyAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue* s = Get(env);
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "target must be a number");
  double target = info[0].As<Napi::Number>().DoubleValue();
  if (target > 0 && s->done >= target) return Napi::Boolean::New(env, true);
  s->notify_at = target;
  Arm(s);
  UpdateRef(s);
  return Napi::Boolean::New(env, false);
}

}  // namespace

void RegisterJournalQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("jq_init", Napi::Function::New(env, JqInit, "jq_init"));
  exports.Set("jq_send", Napi::Function::New(env, JqSend, "jq_send"));
  exports.Set("jq_send_many", Napi::Function::New(env, JqSendMany, "jq_send_many"));
  exports.Set("jq_stats", Napi::Function::New(env, JqStats, "jq_stats"));
  exports.Set("jq_configure", Napi::Function::New(env, JqConfigure, "jq_configure"));
  exports.Set("jq_notify_at", Napi::Function::New(env, JqNotifyAt, "jq_notify_at"));
  exports.Set("jq_pump", Napi::Function::New(env, JqPump, "jq_pump"));
  exports.Set("jq_exit_drain", Napi::Function::New(env, JqExitDrain, "jq_exit_drain"));
}

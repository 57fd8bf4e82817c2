// unix.cc: the few syscalls pure Node cannot make (AF_UNIX datagrams, SCM_RIGHTS, memfd seals,
// FD_CLOEXEC, getsockopt). Dumb on purpose: the protocols are written in lib/js/.
#include "glibc_compat.h"
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <stdint.h>

#include <string>
#include <vector>

#include "common.h"
#include "journal_queue.h"

#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

ssize_t SendmsgFds(int fd, const struct sockaddr_un* to, socklen_t tolen, const struct iovec* iov, size_t n, const int* fds, size_t nfds,
                   const struct ucred* cred) {
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  if (to != nullptr) {
    mh.msg_name = const_cast<struct sockaddr_un*>(to);
    mh.msg_namelen = tolen;
  }
  mh.msg_iov = const_cast<struct iovec*>(iov);
  mh.msg_iovlen = n;
  // Same layout as libsystemd: SCM_RIGHTS first, then SCM_CREDENTIALS.
  std::vector<char> control((nfds == 0 ? 0 : CMSG_SPACE(sizeof(int) * nfds)) + (cred != nullptr ? CMSG_SPACE(sizeof(struct ucred)) : 0));
  if (!control.empty()) {
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    if (nfds > 0) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
      c = CMSG_NXTHDR(&mh, c);
    }
    if (cred != nullptr) {
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_CREDENTIALS;
      c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
      memcpy(CMSG_DATA(c), cred, sizeof(*cred));
    }
  }
  ssize_t r;
  do {
    r = sendmsg(fd, &mh, MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int MemfdSealedFd(const char* name, const struct iovec* iov, size_t n) {
  int fd = static_cast<int>(syscall(SYS_memfd_create, name, MFD_ALLOW_SEALING | MFD_CLOEXEC));
  if (fd < 0) return -errno;
  for (size_t i = 0; i < n; i++) {
    const char* p = static_cast<const char*>(iov[i].iov_base);
    size_t left = iov[i].iov_len;
    while (left > 0) {
      ssize_t w = write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        int e = w < 0 ? errno : EIO;
        close(fd);
        return -e;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

namespace {

// SCM_RIGHTS carries at most SCM_MAX_FD (253) fds; the kernel says EINVAL beyond that.
constexpr size_t kMaxFds = 253;

// Builds a sockaddr_un from raw path bytes (a leading NUL byte means an abstract name).
// Returns the exact address length, or -errno when the bytes do not fit sun_path.
int MakeAddr(const Napi::Buffer<uint8_t>& path, struct sockaddr_un* sa) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (path.Length() == 0 || path.Length() > sizeof(sa->sun_path)) return -EINVAL;
  memcpy(sa->sun_path, path.Data(), path.Length());
  // Filesystem paths need room for their NUL terminator; abstract names use the exact length.
  if (path.Data()[0] != 0 && path.Length() == sizeof(sa->sun_path)) return -ENAMETOOLONG;
  return static_cast<int>(offsetof(struct sockaddr_un, sun_path) + path.Length());
}

// unix_socket(type: number, nonblock: boolean): number  a close-on-exec AF_UNIX fd, or -errno
Napi::Value UnixSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int type = ArgInt(info, 0);
  bool nonblock = ArgBool(info, 1);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  return Napi::Number::New(env, fd < 0 ? -errno : fd);
}

// unix_bind(fd: number, path: Buffer): number  0 or -errno
Napi::Value UnixBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  struct sockaddr_un sa;
  int len = MakeAddr(ArgBuffer(info, 1), &sa);
  if (len < 0) return Napi::Number::New(env, len);
  int rc = bind(fd, reinterpret_cast<struct sockaddr*>(&sa), static_cast<socklen_t>(len));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// unix_sendmsg(fd: number, path: Buffer | null, data: Buffer | Buffer[], fds: number[] | null,
//              creds?: [pid, uid, gid] | null): number
//   bytes sent, or -errno (EAGAIN on a full queue of a non-blocking socket). MSG_NOSIGNAL.
//   creds attaches SCM_CREDENTIALS (faking another pid needs CAP_SYS_ADMIN; the kernel says EPERM).
Napi::Value UnixSendmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  struct sockaddr_un sa;
  int salen = 0;
  if (!(info[1].IsNull() || info[1].IsUndefined())) {
    salen = MakeAddr(ArgBuffer(info, 1), &sa);
    if (salen < 0) return Napi::Number::New(env, salen);
  }
  std::vector<struct iovec> iov;
  ArgIovecs(info, 2, &iov);
  std::vector<int> fds = ArgFds(info, 3);
  if (fds.size() > kMaxFds) return Errno(env, E2BIG);
  bool send_creds = info.Length() > 4 && info[4].IsArray();
  struct ucred cred = {0, 0, 0};
  if (send_creds) {
    Napi::Array c = info[4].As<Napi::Array>();
    cred.pid = static_cast<pid_t>(IntIn(env, c.Get(0u), 1, INT_MAX, "creds[0]"));
    cred.uid = static_cast<uid_t>(IntIn(env, c.Get(1u), 0, UINT32_MAX, "creds[1]"));
    cred.gid = static_cast<gid_t>(IntIn(env, c.Get(2u), 0, UINT32_MAX, "creds[2]"));
  }

  ssize_t n = SendmsgFds(fd, salen > 0 ? &sa : nullptr, static_cast<socklen_t>(salen), iov.data(), iov.size(), fds.data(), fds.size(),
                         send_creds ? &cred : nullptr);
  return Napi::Number::New(env, static_cast<double>(n));
}

// unix_recvmsg(fd: number, maxBytes: number (0 to 64 MiB, else -EINVAL)):
//   [data: Buffer, fds: number[], pid, uid, gid, truncated: boolean] | number (-errno; -EAGAIN when
//   nothing is waiting). Never waits: callers watch the fd (poll_start) instead of blocking the loop.
//   Received fds are close-on-exec. Credentials are filled when SO_PASSCRED is on, else -1.
Napi::Value UnixRecvmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  int max = ArgInt(info, 1);
  // maxBytes + 1 bytes are allocated per call: a datagram larger than 64 MiB cannot be sent to us
  // (SO_SNDBUF), so a larger size is a caller's mistake, not a 2 GiB allocation.
  if (max < 0 || max > (64 << 20)) return Errno(env, EINVAL);

  std::vector<uint8_t> data(static_cast<size_t>(max) + 1);  // +1 detects truncation
  struct iovec iov = {data.data(), data.size()};
  // Room for PID 1's limit of fds plus credentials.
  std::vector<char> control(CMSG_SPACE(sizeof(int) * 768) + CMSG_SPACE(sizeof(struct ucred)));
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.data();
  mh.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(env, errno);

  Napi::Array fds = Napi::Array::New(env);
  double pid = -1, uid = -1, gid = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t j = 0; j < k; j++) {
        int v;
        memcpy(&v, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
        fds.Set(fds.Length(), Napi::Number::New(env, v));
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred cr;
      memcpy(&cr, CMSG_DATA(c), sizeof(cr));
      pid = cr.pid;
      uid = cr.uid;
      gid = cr.gid;
    }
  }
  size_t got = static_cast<size_t>(n) > static_cast<size_t>(max) ? static_cast<size_t>(max) : static_cast<size_t>(n);
  Napi::Array out = Napi::Array::New(env, 6);
  out.Set(0u, Napi::Buffer<uint8_t>::Copy(env, data.data(), got));
  out.Set(1u, fds);
  out.Set(2u, Napi::Number::New(env, pid));
  out.Set(3u, Napi::Number::New(env, uid));
  out.Set(4u, Napi::Number::New(env, gid));
  out.Set(5u, Napi::Boolean::New(env, static_cast<size_t>(n) > static_cast<size_t>(max) || (mh.msg_flags & MSG_CTRUNC)));
  return out;
}

// unix_connect(fd: number, path: Buffer): number  0 or -errno (blocking connect)
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  struct sockaddr_un sa;
  int len = MakeAddr(ArgBuffer(info, 1), &sa);
  if (len < 0) return Napi::Number::New(env, len);
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<struct sockaddr*>(&sa), static_cast<socklen_t>(len));
  } while (rc < 0 && errno == EINTR);
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// shutdown(fd: number, how: number): number  0 or -errno
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rc = shutdown(ArgInt(info, 0), ArgInt(info, 1));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// inet_listen(family: 4 | 6, host: string, port: number, type: number, backlog: number): number
//   a bound (and, for stream sockets, listening) close-on-exec socket, or -errno. Nobody accepts
//   on it here: it is meant to be handed to a child, as systemd hands its sockets.
Napi::Value InetListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = ArgInt(info, 0) == 6 ? AF_INET6 : AF_INET;
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "host must be a string");
  std::string host = info[1].As<Napi::String>().Utf8Value();
  int port = ArgIntIn(info, 2, 0, 65535), type = ArgInt(info, 3), backlog = ArgInt(info, 4);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  socklen_t len;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) return Errno(env, EINVAL);
    len = sizeof(*sin);
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) return Errno(env, EINVAL);
    len = sizeof(*sin6);
  }
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(env, errno);
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Like systemd's ListenStream=PORT: an IPv6 wildcard also takes IPv4.
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) < 0 ||
      ((type == SOCK_STREAM || type == SOCK_SEQPACKET) && listen(fd, backlog) < 0)) {
    int e = errno;
    close(fd);
    return Errno(env, e);
  }
  return Napi::Number::New(env, fd);
}

// listen_fd(fd: number, backlog: number): number  0 or -errno
Napi::Value ListenFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rc = listen(ArgInt(info, 0), ArgInt(info, 1));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// setsockopt_int(fd, level, name, value): number  0 or -errno
Napi::Value SetsockoptInt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0), level = ArgInt(info, 1), name = ArgInt(info, 2), value = ArgInt(info, 3);
  int rc = setsockopt(fd, level, name, &value, sizeof(value));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// getsockopt_int(fd, level, name): number  the (non-negative) value, or -errno
Napi::Value GetsockoptInt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0), level = ArgInt(info, 1), name = ArgInt(info, 2);
  int value = 0;
  socklen_t len = sizeof(value);
  int rc = getsockopt(fd, level, name, &value, &len);
  return Napi::Number::New(env, rc < 0 ? -errno : value);
}

// getsockname(fd): Buffer | number  the raw sockaddr bytes (family first), or -errno
Napi::Value Getsockname(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) < 0) return Errno(env, errno);
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(&ss), len);
}

// close(fd): number  0 or -errno
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rc = close(ArgInt(info, 0));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// set_cloexec(fd): number  0 or -errno (fcntl F_SETFD FD_CLOEXEC, as sd_listen_fds does)
Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0);
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return Errno(env, errno);
  if ((flags & FD_CLOEXEC) == 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return Errno(env, errno);
  return Napi::Number::New(env, 0);
}

// get_cloexec(fd): number  1 set, 0 clear, or -errno
Napi::Value GetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int flags = fcntl(ArgInt(info, 0), F_GETFD);
  if (flags < 0) return Errno(env, errno);
  return Napi::Number::New(env, (flags & FD_CLOEXEC) ? 1 : 0);
}

// memfd_sealed(name: string, data: Buffer | Buffer[]): number
//   a close-on-exec memfd holding data, sealed against any change (seals 15), or -errno
Napi::Value MemfdSealed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::vector<struct iovec> iov;
  ArgIovecs(info, 1, &iov);
  return Napi::Number::New(env, MemfdSealedFd(name.c_str(), iov.data(), iov.size()));
}

// fd_stat(fd): [mode, dev, ino] | number  fstat() of fd, or -errno (runtimes whose fs module only
//   knows its own fds, such as Deno's, cannot stat an inherited socket)
Napi::Value FdStat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct stat st;
  // The system call itself: glibc exports fstat only since 2.33 (before, an inline wrapper of
  // __fxstat), and a prebuild must load on older glibc. The kernel's struct stat is glibc's here.
  if (syscall(SYS_fstat, ArgInt(info, 0), &st) < 0) return Errno(env, errno);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, static_cast<double>(st.st_mode));
  out.Set(1u, static_cast<double>(st.st_dev));
  out.Set(2u, static_cast<double>(st.st_ino));
  return out;
}

// pipe(): [readFd, writeFd] | number  both close-on-exec, or -errno
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Errno(env, errno);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, p[0]));
  out.Set(1u, Napi::Number::New(env, p[1]));
  return out;
}

// dup_cloexec(fd): a close-on-exec duplicate of fd (above stdio), or -errno. A notify message
//   waiting in the queue keeps its own reference to the fds it passes: the caller may close
//   (and the number be reused) as soon as notify() returned.
Napi::Value DupCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = fcntl(ArgInt(info, 0), F_DUPFD_CLOEXEC, 3);
  return Napi::Number::New(env, fd < 0 ? -errno : fd);
}

// pidfd_self_id(): this process's pidfd inode id (what systemd 258+ puts in LISTEN_PIDFDID) as a
// bigint, -EOPNOTSUPP when pidfds are not on pidfs (kernels before 6.9), or -errno. As libsystemd's
// pidfd_get_inode_id_self_cached: the inode number of a pidfd for getpid() on a pidfs mount.
Napi::Value PidfdSelfId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
  int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  if (fd < 0) return Errno(env, errno == ENOSYS ? EOPNOTSUPP : errno);
  struct statfs sfs;
  struct stat st;
  int err = 0;
  if (syscall(SYS_fstatfs, fd, &sfs) < 0) err = errno;
  else if (static_cast<uint64_t>(sfs.f_type) != 0x50494446u) err = EOPNOTSUPP;  // PIDFS_MAGIC
  else if (sizeof(st.st_ino) != 8) err = EOPNOTSUPP;
  else if (syscall(SYS_fstat, fd, &st) < 0) err = errno;
  close(fd);
  if (err) return Errno(env, err);
  return Napi::BigInt::New(env, static_cast<uint64_t>(st.st_ino));
}

}  // namespace

void RegisterUnix(Napi::Env env, Napi::Object exports) {
  exports.Set("unix_socket", Napi::Function::New(env, UnixSocket, "unix_socket"));
  exports.Set("unix_bind", Napi::Function::New(env, UnixBind, "unix_bind"));
  exports.Set("unix_sendmsg", Napi::Function::New(env, UnixSendmsg, "unix_sendmsg"));
  exports.Set("unix_recvmsg", Napi::Function::New(env, UnixRecvmsg, "unix_recvmsg"));
  exports.Set("unix_connect", Napi::Function::New(env, UnixConnect, "unix_connect"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("inet_listen", Napi::Function::New(env, InetListen, "inet_listen"));
  exports.Set("listen_fd", Napi::Function::New(env, ListenFd, "listen_fd"));
  exports.Set("setsockopt_int", Napi::Function::New(env, SetsockoptInt, "setsockopt_int"));
  exports.Set("getsockopt_int", Napi::Function::New(env, GetsockoptInt, "getsockopt_int"));
  exports.Set("getsockname", Napi::Function::New(env, Getsockname, "getsockname"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("set_cloexec", Napi::Function::New(env, SetCloexec, "set_cloexec"));
  exports.Set("get_cloexec", Napi::Function::New(env, GetCloexec, "get_cloexec"));
  exports.Set("memfd_sealed", Napi::Function::New(env, MemfdSealed, "memfd_sealed"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("fd_stat", Napi::Function::New(env, FdStat, "fd_stat"));
  exports.Set("dup_cloexec", Napi::Function::New(env, DupCloexec, "dup_cloexec"));
  exports.Set("pidfd_self_id", Napi::Function::New(env, PidfdSelfId, "pidfd_self_id"));
}

/* baseline.c: the C side of `npm run bench`. Same work as the Node benchmarks, through
 * libsystemd (sd_journal_send, sd_notify) and through raw syscalls (sendmsg of a prebuilt
 * entry, sendto on a reused socket), plus a counting datagram sink. Built by bench/run.js with
 * the system C compiler; the sd_* prototypes are declared here (no libsystemd-dev needed). */
#define _GNU_SOURCE
#include <stddef.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int sd_journal_send(const char *format, ...);
int sd_notify(int unset_environment, const char *state);

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long max_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void report(const char *name, long n, double ns) {
  printf("{\"name\":\"%s\",\"calls\":%ld,\"nsPerCall\":%.1f,\"rssKb\":%ld}\n", name, n, ns / n, max_rss_kb());
}

/* The sink's count, answered from the signal handler itself with write() (async-signal-safe):
 * a flag checked by the receive loop would miss a signal that lands just before recv() blocks
 * while no datagram comes (the bench waits for the count before it sends again). */
static volatile unsigned long long sink_count = 0;
static void on_usr1(int sig) {
  (void)sig;
  char buf[40];
  char digits[24];
  int n = 0;
  unsigned long long v = sink_count;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < (int)sizeof(digits));
  int len = 0;
  memcpy(buf, "count ", 6);
  len = 6;
  while (n > 0) buf[len++] = digits[--n];
  buf[len++] = '\n';
  ssize_t w = write(1, buf, (size_t)len);
  (void)w;
}

static int unix_addr(const char *path, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  strncpy(sa->sun_path, path, sizeof(sa->sun_path) - 1);
  if (path[0] == '@') sa->sun_path[0] = 0;
  return (int)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
}

/* The entry every journal benchmark sends: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, 5 fields. */
#define FIELDS "PRIORITY=6", "SYSLOG_IDENTIFIER=bench", "REQ_ID=a1b2c3", "METHOD=GET", "PATH=/api/items", "STATUS=200", "DURATION_MS=12"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: baseline journal-send|journal-raw|notify|notify-raw N | journal-stall MS | sink PATH\n");
    return 2;
  }
  const char *mode = argv[1];
  if (strcmp(mode, "sink") == 0) {
    /* Receives datagrams as fast as it can, until killed; SIGUSR1 prints how many so far
     * ("count N"), so every benchmark row can check that what it sent was delivered. */
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    act.sa_handler = on_usr1;
    act.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &act, NULL);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int big = 64 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    struct sockaddr_un sa;
    int len = unix_addr(argv[2], &sa);
    unlink(argv[2]);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0) { perror("bind"); return 1; }
    printf("ready\n");
    fflush(stdout);
    static char buf[1 << 16];
    for (;;) {
      if (recv(fd, buf, sizeof(buf), 0) >= 0) sink_count++;
      else if (errno != EINTR) perror("recv");
    }
  }
  long n = atol(argv[2]);
  double t0, t1;
  if (strcmp(mode, "journal-send") == 0) {
    t0 = now_ns();
    for (long i = 0; i < n; i++) sd_journal_send("MESSAGE=request served", FIELDS, NULL);
    t1 = now_ns();
  } else if (strcmp(mode, "journal-raw") == 0) {
    /* The floor for one syscall per entry: a prebuilt entry, one sendmsg each. */
    const char entry[] = "MESSAGE=request served\nPRIORITY=6\nSYSLOG_IDENTIFIER=bench\nREQ_ID=a1b2c3\nMETHOD=GET\nPATH=/api/items\nSTATUS=200\nDURATION_MS=12\n";
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    int len = unix_addr("/run/systemd/journal/socket", &sa);
    struct iovec iov = {(void *)entry, sizeof(entry) - 1};
    struct msghdr mh = {.msg_name = &sa, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    t0 = now_ns();
    for (long i = 0; i < n; i++) sendmsg(fd, &mh, MSG_NOSIGNAL);
    t1 = now_ns();
  } else if (strcmp(mode, "journal-stall") == 0) {
    /* Like bench/worker.js stall: 5 entries every 5 ms for n ms; the longest blocked call. */
    double start = now_ns(), max_gap = 0;
    long sent = 0;
    while (now_ns() - start < n * 1e6) {
      for (int i = 0; i < 5; i++, sent++) {
        double a = now_ns();
        sd_journal_send("MESSAGE=stall entry", "PRIORITY=6", "SYSLOG_IDENTIFIER=bench-c", NULL);
        double b = now_ns() - a;
        if (b > max_gap) max_gap = b;
      }
      usleep(5000);
    }
    printf("{\"name\":\"journal-stall\",\"calls\":%ld,\"maxGapMs\":%.2f,\"rssKb\":%ld}\n", sent, max_gap / 1e6, max_rss_kb());
    return 0;
  } else if (strcmp(mode, "notify") == 0) {
    t0 = now_ns();
    for (long i = 0; i < n; i++) sd_notify(0, "STATUS=serving 42 requests");
    t1 = now_ns();
  } else if (strcmp(mode, "notify-raw") == 0) {
    const char *e = getenv("NOTIFY_SOCKET");
    if (!e) return 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    int len = unix_addr(e, &sa);
    const char msg[] = "STATUS=serving 42 requests";
    t0 = now_ns();
    for (long i = 0; i < n; i++) sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    t1 = now_ns();
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  report(mode, n, t1 - t0);
  return 0;
}

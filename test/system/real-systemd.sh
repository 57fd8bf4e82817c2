#!/bin/bash
# real-systemd.sh - boot a REAL systemd (the system manager, as PID 1 of a set of
# private namespaces) for integration tests of unit files, then tear it down again.
#
# Needs root, util-linux (unshare, nsenter, setpriv, findmnt), systemd installed on
# the host (Debian 12: systemd 252) and a cgroup2 mount on the host (pure v2, or the
# "unified" mount of a v1/v2 hybrid). systemd does NOT need to be the host's PID 1.
#
# Usage (all commands take an optional instance name, default "default"):
#   real-systemd.sh [-n NAME] start [OPTIONS]   boot; returns when the harness target is active
#       --unit FILE        install FILE into /etc/systemd/system before boot (repeatable)
#       --enable UNIT      start UNIT at boot (added to real-systemd-harness.target's Wants)
#       --allow UNIT       do not mask this stock unit (default: every stock
#                          service/socket/timer/path/mount/swap except journald and
#                          the shutdown helpers is masked, and all generators are masked)
#       --bind SRC[:DST]   bind-mount a host path read-write into the container (DST is
#                          created if it lies in one of the private tmpfs, e.g. under /run)
#       --bind-ro SRC[:DST]  same, read-only
#       --tmpfs PATH       extra private tmpfs at PATH (PATH must exist on the host)
#       --host-net         share the host network namespace (default: private netns, lo only)
#       --root DIR         boot the systemd of the root filesystem in DIR (e.g. made with
#                          debootstrap) instead of the host's /; bound read-only the same way
#       --lifetime SEC     hard limit: the whole container is SIGKILLed after SEC (default 3600)
#       --boot-timeout SEC (default 60)   --log-level LEVEL (systemd's, default info)
#   real-systemd.sh [-n NAME] install UNITFILE...   copy unit files in, then daemon-reload
#   real-systemd.sh [-n NAME] put SRC DST [MODE]    copy one host file into the container
#   real-systemd.sh [-n NAME] systemctl ARGS...     systemctl inside (no pager)
#   real-systemd.sh [-n NAME] journalctl ARGS...    journalctl inside (no pager)
#   real-systemd.sh [-n NAME] exec CMD [ARGS...]    run CMD inside the container's mount, PID,
#                                                   UTS, IPC and network namespaces (clients!)
#   real-systemd.sh [-n NAME] status                exit 0 if running; prints PIDs
#   real-systemd.sh [-n NAME] stop [--save-logs DIR] [--timeout SEC]
#                                                   `systemctl exit`, SIGKILL after SEC (20),
#                                                   remove cgroups and state: nothing is left
#   real-systemd.sh [-n NAME] selftest              isolation proof: same namespaces and mounts,
#                                                   but runs a probe instead of systemd
#
# Adopted into libsystemd from the workplace tool of the same name; owned here now.
# Isolation (see test/system/README.md):
#   * new mount, PID, UTS, IPC, cgroup and (by default) network namespaces;
#   * the new root is a NON-recursive, read-only bind of the host's / (a per-mount flag,
#     the host's filesystem stays writable for the host); fresh tmpfs on /tmp, /var/tmp,
#     /run, /etc/systemd, /var/lib/systemd, /var/log/journal; private /dev (tmpfs with
#     null, zero, full, random, urandom, tty, own devpts, no kmsg/watchdog/disks);
#     read-only /proc/sys, /proc/sysrq-trigger and /sys; cgroup2 rooted at a cgroup of
#     our own (<host cgroup2 mount>/real-systemd.NAME);
#   * $container is set, so systemd and systemd-shutdown run in container mode (no
#     umount/remount-ro, swapoff, loop/DM detach at shutdown; no clock, SELinux, IMA setup);
#   * capabilities that only act on the whole machine are dropped from the bounding set;
#   * the guard checks in stage 2 refuse to exec systemd if any of this did not happen.
# Host-side files: state in $REAL_SYSTEMD_STATE_ROOT/NAME (default /run/real-systemd/NAME),
# one cgroup directory. `stop` removes both.  Host /tmp is never written.

set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

SELF=$(readlink -f "${BASH_SOURCE[0]}")
STATE_ROOT=${REAL_SYSTEMD_STATE_ROOT:-/run/real-systemd}
NAME=${REAL_SYSTEMD_NAME:-default}
HARNESS_TARGET=real-systemd-harness.target
SYSTEMD_BIN=/lib/systemd/systemd
ALLOW_DEFAULT="systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket
systemd-exit.service systemd-poweroff.service systemd-halt.service systemd-reboot.service"
# capabilities whose only effect would be on the whole machine
DROP_CAPS=-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-mac_admin,-mac_override,-audit_control,-audit_read,-audit_write,-sys_boot,-sys_pacct,-linux_immutable,-block_suspend
CPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Console pump: systemd only logs to /dev/console if it is a TTY, so give it a pty whose
# output is appended to $STATE/console.log (the slave stays open here: no EIO/hangup).
PTY_PUMP='
import os, sys, tty
log, namefile = sys.argv[1], sys.argv[2]
m, s = os.openpty()
tty.setraw(s)
with open(namefile + ".tmp", "w") as f:
    f.write(os.ttyname(s))
os.rename(namefile + ".tmp", namefile)
out = open(log, "ab", buffering=0)
while True:
    try:
        data = os.read(m, 65536)
    except OSError:
        break
    if not data:
        break
    out.write(data.replace(b"\r\n", b"\n"))
'

die() { echo "real-systemd: error: $*" >&2; exit 1; }
log() { echo "real-systemd: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

state_dir() { printf '%s/%s' "$STATE_ROOT" "$NAME"; }

ns_id() { readlink "/proc/$1/ns/$2"; }

# PID (host view) of the container's systemd, if it is running and really ours.
init_pid() {
    local st pid pidns
    st=$(state_dir)
    [ -r "$st/init.pid" ] && [ -r "$st/init.pidns" ] || return 1
    pid=$(cat "$st/init.pid"); pidns=$(cat "$st/init.pidns")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    [ "$(ns_id "$pid" pid 2>/dev/null)" = "$pidns" ] || return 1
    [ "$pidns" != "$(ns_id self pid)" ] || return 1
    echo "$pid"
}

# run a command inside the container (all namespaces but cgroup)
in_container() {
    local pid wd=/
    pid=$(init_pid) || die "instance '$NAME' is not running"
    if [ -d "/proc/$pid/root$PWD" ]; then wd=$PWD; fi
    nsenter --target "$pid" --mount --uts --ipc --net --pid --wdns="$wd" -- \
        env PATH="$CPATH" SYSTEMD_PAGER= PAGER=cat SYSTEMD_COLORS=0 "$@"
}

host_cgroup2() {
    local m
    m=$(findmnt -n -r -t cgroup2 -o TARGET | awk 'NR == 1')
    [ -n "$m" ] || die "no cgroup2 mount on the host"
    echo "$m"
}

# Remove the instance cgroup tree (only ever below <cgroup2>/real-systemd.*).
cg_cleanup() {
    local d=$1 i
    case "$d" in */real-systemd.*) ;; *) die "refusing to clean cgroup $d";; esac
    [ -d "$d" ] || return 0
    for i in $(seq 1 50); do
        if grep -q '^populated 0' "$d/cgroup.events" 2>/dev/null; then break; fi
        [ -e "$d/cgroup.kill" ] && echo 1 > "$d/cgroup.kill" 2>/dev/null || true
        sleep 0.1
    done
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ ! -d "$d" ] || { log "warning: cgroup $d could not be removed"; return 1; }
}

write_config() {
    local st=$1; shift
    {
        local v
        for v in "$@"; do printf '%s=%q\n' "$v" "${!v}"; done
    } > "$st/config"
}

# ----------------------------------------------------------------------------- start
cmd_start() {
    local units=() enables=() allows=() binds=() tmpfss=() hostnet=0 lifetime=3600
    local boot_timeout=60 log_level=info init_cmd="" rootdir=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --unit) units+=("$(readlink -f "$2")"); shift 2;;
            --enable) enables+=("$2"); shift 2;;
            --allow) allows+=("$2"); shift 2;;
            --bind) binds+=("rw:$2"); shift 2;;
            --bind-ro) binds+=("ro:$2"); shift 2;;
            --tmpfs) tmpfss+=("$2"); shift 2;;
            --host-net) hostnet=1; shift;;
            --root) rootdir=$(readlink -f "$2"); shift 2;;
            --lifetime) lifetime=$2; shift 2;;
            --boot-timeout) boot_timeout=$2; shift 2;;
            --log-level) log_level=$2; shift 2;;
            --init-cmd) init_cmd=$2; shift 2;;   # experiments/selftest: run this instead of systemd
            *) die "start: unknown option $1";;
        esac
    done
    [ "$(id -u)" = 0 ] || die "must run as root"
    local t
    for t in unshare nsenter setpriv findmnt timeout setsid pivot_root; do
        command -v "$t" >/dev/null || die "missing tool: $t"
    done
    [ -z "$rootdir" ] || [ -d "$rootdir" ] || die "--root $rootdir: no such directory"
    [ -x "$rootdir$SYSTEMD_BIN" ] || die "$rootdir$SYSTEMD_BIN not found"
    local f; for f in "${units[@]}"; do [ -f "$f" ] || die "no such unit file: $f"; done
    for t in "${binds[@]}"; do
        f=${t#*:}; f=${f%%:*}; [ -e "$f" ] || die "bind source does not exist: $f"
    done

    local st; st=$(state_dir)
    if [ -e "$st" ]; then
        if init_pid >/dev/null; then die "instance '$NAME' is already running"; fi
        log "removing stale state of instance '$NAME'"
        cmd_stop >/dev/null 2>&1 || true
    fi
    mkdir -p "$STATE_ROOT"; mkdir -m 0700 "$st"
    local CGDIR; CGDIR="$(host_cgroup2)/real-systemd.$NAME"
    if [ -e "$CGDIR" ]; then cg_cleanup "$CGDIR" || die "stale cgroup $CGDIR is busy"; fi
    mkdir "$CGDIR"

    local HOST_MNTNS HOST_PIDNS HOST_UTSNS HOST_IPCNS HOST_NETNS HOST_CGNS HOST_HOSTNAME
    HOST_MNTNS=$(ns_id self mnt); HOST_PIDNS=$(ns_id self pid); HOST_UTSNS=$(ns_id self uts)
    HOST_IPCNS=$(ns_id self ipc); HOST_NETNS=$(ns_id self net); HOST_CGNS=$(ns_id self cgroup)
    HOST_HOSTNAME=$(hostname)
    local UNITS ENABLES ALLOWS BINDS TMPFSS HOSTNET=$hostnet LIFETIME=$lifetime
    local LOG_LEVEL=$log_level INIT_CMD=$init_cmd STATE=$st INSTANCE=$NAME ROOTDIR=$rootdir
    UNITS=$(printf '%s\n' "${units[@]+"${units[@]}"}")
    ENABLES=$(printf '%s\n' "${enables[@]+"${enables[@]}"}")
    ALLOWS=$(printf '%s\n' $ALLOW_DEFAULT "${allows[@]+"${allows[@]}"}")
    BINDS=$(printf '%s\n' "${binds[@]+"${binds[@]}"}")
    TMPFSS=$(printf '%s\n' "${tmpfss[@]+"${tmpfss[@]}"}")
    write_config "$st" STATE INSTANCE CGDIR HOST_MNTNS HOST_PIDNS HOST_UTSNS HOST_IPCNS HOST_NETNS \
        HOST_CGNS HOST_HOSTNAME UNITS ENABLES ALLOWS BINDS TMPFSS HOSTNET LIFETIME LOG_LEVEL INIT_CMD ROOTDIR
    : > "$st/console.log"

    local t0; t0=$(now)
    setsid "$SELF" __supervise "$st" </dev/null >"$st/supervisor.log" 2>&1 &
    echo $! > "$st/supervisor.pid"

    # wait for the container's PID 1 to appear
    local i pid=""
    for i in $(seq 1 100); do
        pid=$(init_pid 2>/dev/null) && break
        [ -e "$st/exit.status" ] && break
        sleep 0.05
    done
    if [ -n "$init_cmd" ]; then
        log "started '$NAME' with a custom init (pid ${pid:-already exited})"; return 0
    fi
    if [ -z "$pid" ]; then
        cat "$st/supervisor.log" "$st/console.log" >&2 || true
        cmd_stop >/dev/null 2>&1 || true
        die "container did not start"
    fi

    # wait until systemd answers and the harness target is active
    local deadline state
    deadline=$(( $(date +%s) + boot_timeout ))
    while :; do
        state=$(in_container systemctl is-active "$HARNESS_TARGET" 2>/dev/null) || true
        [ "$state" = active ] && break
        if ! init_pid >/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
            log "boot failed (target state: ${state:-no answer}); console log:"
            tail -n 50 "$st/console.log" >&2 || true
            cmd_stop >/dev/null 2>&1 || true
            die "boot of '$NAME' failed"
        fi
        sleep 0.05
    done
    log "instance '$NAME' up: systemd pid $pid (host view), boot took $(elapsed "$t0") s"
}

# Runs detached on the host, for the lifetime of the container.
cmd_supervise() {
    local st=$1
    # shellcheck disable=SC1091
    . "$st/config"
    local pump="" i
    if command -v python3 >/dev/null; then
        python3 -c "$PTY_PUMP" "$st/console.log" "$st/console.tty" </dev/null &
        pump=$!
        for i in $(seq 1 100); do [ -s "$st/console.tty" ] && break; sleep 0.02; done
    fi
    [ -s "$st/console.tty" ] || { echo /dev/null > "$st/console.tty"; echo "no console pump (python3 missing?)"; }
    local netflag=--net
    [ "$HOSTNET" = 1 ] && netflag=
    timeout -s KILL "$LIFETIME" unshare --mount --uts --ipc --pid --fork $netflag \
        --propagation private --mount-proc --kill-child=SIGKILL -- \
        "$SELF" __stage1 "$st" &
    local tpid=$! upid="" ipid=""
    for i in $(seq 1 200); do
        upid=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null | awk '{print $1}')
        [ -n "$upid" ] && ipid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}')
        [ -n "$ipid" ] && break
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.02
    done
    if [ -n "$ipid" ]; then
        echo "$upid" > "$st/unshare.pid"
        ns_id "$ipid" pid > "$st/init.pidns.tmp" && mv "$st/init.pidns.tmp" "$st/init.pidns"
        echo "$ipid" > "$st/init.pid"
    fi
    local rc=0
    wait "$tpid" || rc=$?
    echo "$rc" > "$st/exit.status"
    cg_cleanup "$CGDIR" || true
    if [ -n "$pump" ]; then kill "$pump" 2>/dev/null || true; wait "$pump" 2>/dev/null || true; fi
    echo "$(date -u +%FT%TZ) container exited rc=$rc" >> "$st/supervisor.log"
}

guard_ns() {   # refuse to go on unless we really are in fresh namespaces
    [ "$$" = 1 ] || die "stage: not PID 1 of a new PID namespace"
    [ "$(ns_id self mnt)" != "$HOST_MNTNS" ] || die "stage: mount namespace is the host's"
    [ "$(ns_id self pid)" != "$HOST_PIDNS" ] || die "stage: PID namespace is the host's"
    [ "$(ns_id self uts)" != "$HOST_UTSNS" ] || die "stage: UTS namespace is the host's"
    [ "$(ns_id self ipc)" != "$HOST_IPCNS" ] || die "stage: IPC namespace is the host's"
    if [ "$HOSTNET" != 1 ]; then
        [ "$(ns_id self net)" != "$HOST_NETNS" ] || die "stage: network namespace is the host's"
    fi
}

# Stage 1: PID 1 of the new namespaces; join our cgroup, then a new cgroup namespace.
cmd_stage1() {
    local st=$1
    . "$st/config"
    guard_ns
    echo 0 > "$CGDIR/cgroup.procs"
    exec unshare --cgroup -- "$SELF" __stage2 "$st"
}

# Stage 2: build the private root, pivot into it, check it, exec systemd.
cmd_stage2() {
    local st=$1
    . "$st/config"
    guard_ns
    [ "$(ns_id self cgroup)" != "$HOST_CGNS" ] || die "stage2: cgroup namespace is the host's"
    grep -qx '0::/' /proc/self/cgroup || die "stage2: not at the root of our cgroup namespace"

    mount --make-rprivate /
    local S=/mnt R=/mnt/root
    mount -t tmpfs -o mode=0700,size=1m real-systemd-stage "$S"
    mkdir "$R"
    mount --bind "${ROOTDIR:-/}" "$R"         # non-recursive: just the root filesystem
    mount -o remount,bind,ro "$R"             # per-mount read-only flag (superblock untouched)

    mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
    local p
    for p in sys sysrq-trigger; do
        [ -e "$R/proc/$p" ] || continue
        mount --bind "$R/proc/$p" "$R/proc/$p"
        mount -o remount,bind,ro "$R/proc/$p"
    done
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"

    mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs "$R/dev"
    for p in null zero full random urandom tty; do
        touch "$R/dev/$p"; mount --bind "/dev/$p" "$R/dev/$p"
    done
    mkdir -m 0755 "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"
    ln -s pts/ptmx "$R/dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m tmpfs "$R/dev/shm"
    mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"
    touch "$R/dev/console"; mount --bind "$(cat "$st/console.tty")" "$R/dev/console"
    ln -s /proc/self/fd "$R/dev/fd"
    ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"
    ln -s /proc/self/fd/2 "$R/dev/stderr"

    mount -t tmpfs -o mode=0755,nosuid,nodev,size=256m tmpfs "$R/run"
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=512m tmpfs "$R/tmp"
    mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m tmpfs "$R/var/tmp"
    mount -t tmpfs -o mode=0755,nosuid,nodev,size=16m tmpfs "$R/etc/systemd"
    [ -d "$R/var/lib/systemd" ] && mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m tmpfs "$R/var/lib/systemd"
    [ -d "$R/var/log/journal" ] && mount -t tmpfs -o mode=2755,nosuid,nodev,size=16m tmpfs "$R/var/log/journal"
    local x
    while IFS= read -r x; do
        [ -n "$x" ] || continue
        [ -d "$R$x" ] || die "--tmpfs $x: no such directory"
        mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R$x"
    done <<< "$TMPFSS"
    local mode spec src dst
    while IFS= read -r x; do
        [ -n "$x" ] || continue
        mode=${x%%:*}; spec=${x#*:}; src=${spec%%:*}; dst=${spec#*:}
        [ "$dst" = "$spec" ] && dst=$src
        if [ ! -e "$R$dst" ]; then   # creatable only inside one of our tmpfs mounts
            if [ -d "$src" ]; then mkdir -p "$R$dst"; else mkdir -p "$(dirname "$R$dst")"; touch "$R$dst"; fi \
                || die "bind target $dst does not exist and cannot be created (read-only)"
        fi
        mount --bind "$src" "$R$dst"
        [ "$mode" = ro ] && mount -o remount,bind,ro "$R$dst"
    done <<< "$BINDS"

    setup_etc_systemd "$R"

    cd "$R"
    pivot_root . mnt
    cd /
    umount -l /mnt
    # Shared inside the container, as on a booted host (and as nspawn does): the service
    # manager's sub-processes mount into /run (credentials: ramfs moved onto
    # /run/credentials/UNIT in a forked mount namespace) and rely on propagation back to PID 1's
    # namespace. Every mount here was made private above, so the new peer groups are ours alone.
    mount --make-rshared /
    mkdir -p /run/host && echo real-systemd > /run/host/container-manager

    # ---- guard: never exec systemd unless the isolation is really in place
    local fs
    for p in /tmp /var/tmp /run /etc/systemd /dev; do
        fs=$(stat -f -c %T "$p"); [ "$fs" = tmpfs ] || die "guard: $p is $fs, not tmpfs"
    done
    for p in / /proc/sys /sys; do
        findmnt -n -o OPTIONS --mountpoint "$p" | tr , '\n' | grep -qx ro || die "guard: $p is not read-only"
    done
    [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || die "guard: /sys/fs/cgroup is not cgroup2"
    grep -qx '0::/' /proc/self/cgroup || die "guard: cgroup"
    [ ! -e /dev/kmsg ] && [ ! -e /dev/watchdog ] || die "guard: host devices visible"

    local env=(PATH="$CPATH" container=real-systemd LANG=C.UTF-8 TERM=dumb SYSTEMD_COLORS=0)
    if [ -n "$INIT_CMD" ]; then
        exec setpriv --bounding-set="$DROP_CAPS" -- env -i "${env[@]}" /bin/bash -c "$INIT_CMD" \
            >/dev/console 2>&1
    fi
    exec setpriv --bounding-set="$DROP_CAPS" -- env -i "${env[@]}" \
        "$SYSTEMD_BIN" --unit="$HARNESS_TARGET" --log-level="$LOG_LEVEL" --show-status=no
}

setup_etc_systemd() {   # $1: prefix of the new root (runs before pivot_root)
    local d=$1/etc/systemd dir f n
    local -A allow=()
    while IFS= read -r n; do [ -n "$n" ] && allow[$n]=1; done <<< "$ALLOWS"
    mkdir -p "$d/system/$HARNESS_TARGET.wants" "$d/system-generators" \
        "$d/system.conf.d" "$d/journald.conf.d"
    for dir in /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
        [ -d "$1$dir" ] || continue
        for f in "$1$dir"/*; do
            n=${f##*/}
            case "$n" in
                *.service|*.socket|*.timer|*.path|*.mount|*.automount|*.swap) ;;
                *) continue;;
            esac
            [ -z "${allow[$n]:-}" ] || continue
            [ -e "$d/system/$n" ] || [ -L "$d/system/$n" ] || ln -s /dev/null "$d/system/$n"
        done
    done
    for dir in /usr/local/lib/systemd/system-generators /usr/lib/systemd/system-generators \
               /lib/systemd/system-generators; do
        [ -d "$1$dir" ] || continue
        for f in "$1$dir"/*; do
            [ -e "$f" ] || continue
            n=${f##*/}
            [ -L "$d/system-generators/$n" ] || ln -s /dev/null "$d/system-generators/$n"
        done
    done
    cat > "$d/system/$HARNESS_TARGET" <<'EOF'
[Unit]
Description=real-systemd test harness target
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
After=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
AllowIsolate=yes
EOF
    cat > "$d/journald.conf.d/real-systemd.conf" <<'EOF'
[Journal]
Storage=volatile
RuntimeMaxUse=64M
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitIntervalSec=0
EOF
    cat > "$d/system.conf.d/real-systemd.conf" <<'EOF'
[Manager]
RuntimeWatchdogSec=off
RebootWatchdogSec=off
DefaultTimeoutStopSec=15s
EOF
    local u
    while IFS= read -r u; do
        [ -n "$u" ] || continue
        n=${u##*/}; rm -f "$d/system/$n"; cp "$u" "$d/system/$n"
    done <<< "$UNITS"
    while IFS= read -r u; do
        [ -n "$u" ] || continue
        ln -sf "../$u" "$d/system/$HARNESS_TARGET.wants/$u"
    done <<< "$ENABLES"
}

# ----------------------------------------------------------------------------- helpers
cmd_install() {
    [ $# -gt 0 ] || die "install: no unit files given"
    local f n
    for f in "$@"; do
        [ -f "$f" ] || die "install: no such file $f"
        n=${f##*/}
        in_container sh -c 'rm -f "/etc/systemd/system/$1" && cat > "/etc/systemd/system/$1"' sh "$n" < "$f"
    done
    in_container systemctl daemon-reload
}

cmd_put() {
    [ $# -ge 2 ] || die "put: SRC DST [MODE]"
    local src=$1 dst=$2 mode=${3:-0644}
    [ -f "$src" ] || die "put: no such file $src"
    in_container sh -c 'mkdir -p "$(dirname "$1")" && rm -f "$1" && cat > "$1" && chmod "$2" "$1"' \
        sh "$dst" "$mode" < "$src"
}

cmd_status() {
    local st pid; st=$(state_dir)
    if pid=$(init_pid); then
        echo "instance '$NAME' running: systemd pid $pid (host view), unshare pid $(cat "$st/unshare.pid"), supervisor pid $(cat "$st/supervisor.pid"), cgroup $(sed -n 's/^CGDIR=//p' "$st/config")"
        return 0
    fi
    echo "instance '$NAME' not running"; return 1
}

cmd_stop() {
    local save="" grace=20
    while [ $# -gt 0 ]; do
        case "$1" in
            --save-logs) save=$2; shift 2;;
            --timeout) grace=$2; shift 2;;
            *) die "stop: unknown option $1";;
        esac
    done
    local st pid i t0 CGDIR=""; st=$(state_dir); t0=$(now)
    [ -d "$st" ] || { log "instance '$NAME' not running, nothing to do"; return 0; }
    [ -r "$st/config" ] && CGDIR=$(. "$st/config"; echo "$CGDIR")
    if pid=$(init_pid); then
        if [ -n "$save" ]; then
            mkdir -p "$save"
            timeout 20 nsenter -t "$pid" -m -p -- journalctl --no-pager -o export > "$save/journal.export" 2>/dev/null || true
            timeout 20 nsenter -t "$pid" -m -p -- journalctl --no-pager -o short-precise > "$save/journal.txt" 2>/dev/null || true
        fi
        local deadline=$(( $(date +%s) + grace ))
        timeout "$grace" nsenter -t "$pid" -m -p -- systemctl --no-block exit >/dev/null 2>&1 || true
        while [ -d "/proc/$pid" ] && [ "$(date +%s)" -lt "$deadline" ]; do
            grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break   # exited, not yet reaped
            sleep 0.05
        done
        if pid=$(init_pid); then
            log "systemd did not exit in time, sending SIGKILL to pid $pid"
            kill -KILL "$pid"
        fi
    fi
    # wait for the supervisor to finish its cleanup
    local spid; spid=$(cat "$st/supervisor.pid" 2>/dev/null || true)
    for i in $(seq 1 100); do
        [ -n "$spid" ] && [ -d "/proc/$spid" ] && grep -q -- "__supervise" "/proc/$spid/cmdline" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$CGDIR" ] && cg_cleanup "$CGDIR"
    [ -n "$save" ] && cp "$st/console.log" "$save/console.log" 2>/dev/null || true
    # delete only the files this script creates (never rm -rf a computed path)
    local f
    for f in config console.log console.tty console.tty.tmp exit.status init.pid init.pidns \
             init.pidns.tmp supervisor.log supervisor.pid unshare.pid; do
        rm -f -- "$st/$f"
    done
    rmdir -- "$st" || log "warning: $st not empty, left in place"
    rmdir -- "$STATE_ROOT" 2>/dev/null || true
    log "instance '$NAME' stopped and removed in $(elapsed "$t0") s"
}

cmd_selftest() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    local marker="real-systemd-selftest-$$"
    local hn core; hn=$(hostname); core=$(cat /proc/sys/kernel/core_pattern)
    local probe='
set +e
echo "pid=$$ hostname-before=$(hostname)"
for n in mnt pid uts ipc net cgroup; do echo "ns.$n=$(readlink /proc/self/ns/$n)"; done
echo "cgroup=$(cat /proc/self/cgroup | grep ^0::)"
echo "capbnd=$(grep CapBnd /proc/self/status)"
findmnt -rn -o TARGET,FSTYPE,OPTIONS | sed "s/^/mount: /"
echo "tmp-before: $(ls -A /tmp | tr "\n" " ")"
for p in /tmp /var/tmp /run /etc/systemd/system /var/lib/systemd; do
  touch "$p/MARKER" && echo "write $p: ok (private)" || echo "write $p: FAILED"
done
for p in /etc /root /usr/lib /var/lib; do
  touch "$p/MARKER" 2>/dev/null && echo "write $p: SUCCEEDED (BAD)" || echo "write $p: refused ($(touch "$p/MARKER" 2>&1 | sed "s/.*: //"))"
done
cp_=$(cat /proc/sys/kernel/core_pattern)
( echo "$cp_" > /proc/sys/kernel/core_pattern ) 2>/dev/null && echo "write /proc/sys: SUCCEEDED (BAD)" || echo "write /proc/sys: refused"
hostname real-systemd-probe && echo "hostname-inside=$(hostname)"
echo "visible net links: $(ls /sys/class/net | tr "\n" " ")"
echo "dev: $(ls -A /dev | tr "\n" " ")"
echo "processes: $(ls /proc | grep -E "^[0-9]+$" | tr "\n" " ")"
'
    probe=${probe//MARKER/$marker}
    local t0; t0=$(now)
    NAME=selftest-$$ cmd_start --init-cmd "$probe" >/dev/null 2>&1 || die "selftest: start failed"
    local st="$STATE_ROOT/selftest-$$"
    for i in $(seq 1 100); do [ -e "$st/exit.status" ] && break; sleep 0.05; done
    sleep 0.2
    local bad=0
    cat "$st/console.log" 2>/dev/null || true
    if ! grep -q "^write /tmp: ok" "$st/console.log" 2>/dev/null; then
        echo "probe did not run; supervisor log:"; cat "$st/supervisor.log"; bad=1
    fi
    echo "--- host-side checks"
    for p in /tmp /var/tmp /run /etc/systemd/system /var/lib/systemd /etc /root /usr/lib /var/lib; do
        if [ -e "$p/$marker" ]; then echo "host $p/$marker EXISTS (BAD)"; bad=1; else echo "host $p: marker absent (good)"; fi
    done
    [ "$(hostname)" = "$hn" ] && echo "host hostname unchanged: $hn" || { echo "host hostname CHANGED"; bad=1; }
    [ "$(cat /proc/sys/kernel/core_pattern)" = "$core" ] && echo "host core_pattern unchanged: $core" || { echo "core_pattern CHANGED"; bad=1; }
    NAME=selftest-$$ cmd_stop >/dev/null 2>&1 || true
    [ ! -e "$st" ] && echo "state dir removed" || { echo "state dir left behind"; bad=1; }
    [ ! -e "$(host_cgroup2)/real-systemd.selftest-$$" ] && echo "cgroup removed" || { echo "cgroup left behind"; bad=1; }
    echo "selftest took $(elapsed "$t0") s: $([ $bad = 0 ] && echo PASS || echo FAIL)"
    return $bad
}

# ----------------------------------------------------------------------------- main
while [ $# -gt 0 ]; do
    case "$1" in
        -n|--name) NAME=$2; shift 2;;
        *) break;;
    esac
done
[[ "$NAME" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "bad instance name '$NAME'"
cmd=${1:-}; [ $# -gt 0 ] && shift
case "$cmd" in
    start) cmd_start "$@";;
    stop) cmd_stop "$@";;
    status) cmd_status;;
    install) cmd_install "$@";;
    put) cmd_put "$@";;
    exec) in_container "$@";;
    systemctl) in_container systemctl --no-pager "$@";;
    journalctl) in_container journalctl --no-pager "$@";;
    selftest) cmd_selftest;;
    __supervise) cmd_supervise "$@";;
    __stage1) cmd_stage1 "$@";;
    __stage2) cmd_stage2 "$@";;
    ""|-h|--help|help) sed -n '2,/^$/p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0;;
    *) die "unknown command '$cmd' (try --help)";;
esac

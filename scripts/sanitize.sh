#!/usr/bin/env bash
# npm run test:sanitize: the addon built with AddressSanitizer and UndefinedBehaviorSanitizer,
# the test files that exercise native code run against it (any report aborts the process, so
# the test fails), then valgrind memcheck over a script that calls every export.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/libsystemd-sanitize-XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # the tests that run as uid 65534 load this build too

echo "== building the addon with -fsanitize=address,undefined"
cp -r "$root/binding.gyp" "$root/src" "$root/package.json" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
nodedir=$(dirname "$(dirname "$(command -v node)")")
(cd "$work" && CXXFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -g" \
  LDFLAGS="-fsanitize=address,undefined" "$root/node_modules/.bin/node-gyp" rebuild --nodedir="$nodedir" >"$work/build.log" 2>&1) \
  || { tail -20 "$work/build.log"; exit 1; }
addon="$work/build/Release/systemd_native.node"

echo "== the native tests against it"
# Node itself is not instrumented: the ASan runtime is preloaded (children inherit it). Leak
# detection is off for the ASan run (Node keeps memory until exit); valgrind checks leaks below.
# ASan's shadow memory inflates RSS: the leak test's RSS bound is relaxed (fds and heap are not).
(cd "$root" && LIBSYSTEMD_SANITIZER=1 LIBSYSTEMD_NATIVE_PATH="$addon" LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
  ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LEAK_RSS_MB=256 FUZZ_RUNS=${FUZZ_RUNS:-5000} node_modules/.bin/vitest run test/backends.test.ts test/activation.test.ts test/notify.test.ts \
  test/journal.test.ts test/threads.test.ts test/fuzz.test.ts test/leaks.test.ts test/run.test.ts test/compat.test.ts \
  test/durability.test.ts test/integrations.test.ts test/reader.test.ts test/reader-worker.test.ts test/reader-corrupt.test.ts \
  test/reader-parity.test.ts test/integers.test.ts test/notify-queue.test.ts test/loggers-hostile.test.ts)

echo "== valgrind memcheck over every export (the regular build)"
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  node --jitless "$root/test/fixtures/exercise-native.cjs" "$root/build/Release/systemd_native.node" 2>"$work/valgrind.log" \
  || { cat "$work/valgrind.log"; echo "valgrind found errors"; exit 1; }
grep -q 'exercised' "$work/valgrind.log" || { cat "$work/valgrind.log"; exit 1; }
echo "valgrind: no memory errors, no definite leaks"

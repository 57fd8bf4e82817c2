/**
 * Timers for any duration. Node's setTimeout/setInterval take at most 2^31 - 1 ms (24.8 days);
 * anything longer becomes 1 ms with a TimeoutOverflowWarning, so a WatchdogSec=60d ping or a
 * 30-day idle timeout would fire at once. Every user- or environment-given duration becomes a
 * timer here: validated once (`checkDuration`), then scheduled as a chain of steps of at most
 * 2^31 - 1 ms (`longTimeout`, `longInterval`), unref-able and cancellable like Node's own.
 */
import { invalidType, outOfRange } from './errors';

/** The longest delay one setTimeout takes as it is (TIMEOUT_MAX in Node's lib/internal/timers.js). */
export const TIMEOUT_MAX = 2 ** 31 - 1;
/** The longest finite duration accepted, in ms (about 285,000 years; its usec still fit a uint64). */
export const DURATION_MAX_MS = Number.MAX_SAFE_INTEGER;

export interface DurationRules {
  /** Infinity is accepted and means "no limit" (only where the API documents that). */
  readonly infinite?: boolean;
  /** 0 is accepted (else the value must be more than 0). */
  readonly zero?: boolean;
}

/**
 * A duration in ms: a number (fractions allowed), `ERR_INVALID_ARG_TYPE` otherwise;
 * `ERR_OUT_OF_RANGE` for NaN, a negative value, 0 unless `zero`, Infinity unless `infinite`,
 * and anything past DURATION_MAX_MS.
 */
export function checkDuration(name: string, value: unknown, rules: DurationRules = {}): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number of milliseconds', value);
  if (value === Infinity && rules.infinite) return value;
  const ok = rules.zero ? value >= 0 : value > 0;
  if (!ok || !(value <= DURATION_MAX_MS)) {
    throw outOfRange(name, `${rules.zero ? '>= 0' : '> 0'} && <= ${DURATION_MAX_MS}${rules.infinite ? ', or Infinity' : ''}`, value);
  }
  return value;
}

/** A pending long timer: like a Timeout, for any duration. */
export interface LongTimer {
  /** Stops it; the callback will not run. */
  cancel(): void;
  /** The timer no longer keeps the event loop alive (the default for a new timer is ref'd, as Node's). */
  unref(): LongTimer;
  ref(): LongTimer;
  hasRef(): boolean;
  /** Not yet fired nor cancelled. */
  readonly pending: boolean;
}

/**
 * Runs `fn` once after `ms` (any finite, non-negative duration; Infinity never fires): one
 * setTimeout when `ms` fits, else a chain of steps of at most TIMEOUT_MAX ms.
 */
export function longTimeout(ms: number, fn: () => void): LongTimer {
  if (!(ms >= 0)) throw outOfRange('ms', '>= 0', ms);
  let left = ms;
  let refd = true;
  let pending = true;
  let t: NodeJS.Timeout | undefined;
  const step = (): void => {
    if (left === Infinity) {
      t = undefined;
      return;
    }
    const d = Math.min(left, TIMEOUT_MAX);
    left -= d;
    t = setTimeout(() => {
      if (!pending) return;
      if (left > 0) {
        step();
        return;
      }
      pending = false;
      t = undefined;
      fn();
    }, d);
    if (!refd) t.unref();
  };
  step();
  const timer: LongTimer = {
    cancel() {
      pending = false;
      if (t) clearTimeout(t);
      t = undefined;
    },
    unref() {
      refd = false;
      t?.unref();
      return timer;
    },
    ref() {
      refd = true;
      t?.ref();
      return timer;
    },
    hasRef: () => refd && pending && t !== undefined,
    get pending() {
      return pending;
    },
  };
  return timer;
}

/** Runs `fn` every `ms` (any finite duration > 0) until cancelled; each period is a longTimeout. */
export function longInterval(ms: number, fn: () => void): LongTimer {
  if (!(ms > 0) || ms === Infinity) throw outOfRange('ms', '> 0 and finite', ms);
  let refd = true;
  let current: LongTimer;
  let cancelled = false;
  const arm = (): void => {
    current = longTimeout(ms, () => {
      arm();
      fn();
    });
    if (!refd) current.unref();
  };
  arm();
  const timer: LongTimer = {
    cancel() {
      cancelled = true;
      current.cancel();
    },
    unref() {
      refd = false;
      current.unref();
      return timer;
    },
    ref() {
      refd = true;
      current.ref();
      return timer;
    },
    hasRef: () => refd && !cancelled,
    get pending() {
      return !cancelled;
    },
  };
  return timer;
}

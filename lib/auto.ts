/**
 * libsystemd/auto: the zero-code preload. `node --import libsystemd/auto app.mjs`,
 * `node -r libsystemd/auto app.js` or `NODE_OPTIONS='--import libsystemd/auto'`.
 *
 * Outside systemd (none of NOTIFY_SOCKET, LISTEN_FDS, JOURNAL_STREAM set) it does nothing and
 * loads nothing: this file reads three variables and returns. Under systemd it loads
 * ./auto/preload, which adopts the activated sockets, reports readiness, runs the watchdog,
 * drains on SIGTERM and routes the console to the journal.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const env = process.env;
// LIBSYSTEMD_AUTO=0 turns the preload off without editing the unit's command line.
if (env.LIBSYSTEMD_AUTO !== '0' && (env.NOTIFY_SOCKET !== undefined || env.LISTEN_FDS !== undefined || env.JOURNAL_STREAM !== undefined)) {
  (require('./auto/preload') as typeof import('./auto/preload')).start();
}

export {};

// bench/read.js MODE IDENTIFIER: reads every entry with SYSLOG_IDENTIFIER=IDENTIFIER and prints
// { n, ms, fields } (fields: every field of every entry, counted, so each one is materialised).
//   ours   journal.query (libsystemd's reader on its thread, or journalctl -o export when
//          libsystemd is hidden), the package's own API
//   json   journalctl -o json piped into JSON.parse, line by line (what the npm readers do)
//   write  writes IDENTIFIER's entries: argv[4] of them, 8 fields each
'use strict';
const { spawn } = require('node:child_process');
const [mode, identifier, count] = process.argv.slice(2);
const l = require('..');

async function main() {
  const t0 = process.hrtime.bigint();
  let n = 0;
  let fields = 0;
  if (mode === 'ours') {
    for await (const e of l.journal.query({ identifier })) {
      n++;
      for (const k in e.fields) if (e.fields[k] !== undefined) fields++;
    }
  } else if (mode === 'json') {
    const p = spawn('journalctl', ['-o', 'json', '--all', '--no-pager', '-t', identifier], { stdio: ['ignore', 'pipe', 'inherit'] });
    let rest = '';
    for await (const chunk of p.stdout) {
      const s = rest + chunk;
      let start = 0;
      for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
        const e = JSON.parse(s.slice(start, nl));
        n++;
        for (const k in e) if (k[0] !== '_' || k[1] !== '_') fields++;
        start = nl + 1;
      }
      rest = s.slice(start);
    }
  } else if (mode === 'write') {
    for (let i = 0; i < Number(count); i++) {
      l.journal.send({ MESSAGE: `request ${i} served`, PRIORITY: 6, SYSLOG_IDENTIFIER: identifier, REQUEST_ID: `req-${i}`, USER_ID: i % 1000, PATH: `/api/items/${i % 97}`, STATUS: 200, DURATION_MS: (i % 50) / 3 });
      if (i % 5000 === 4999) await l.journal.flush();
    }
    await l.journal.flush();
    n = Number(count);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${JSON.stringify({ n, ms, fields })}\n`);
}
main();

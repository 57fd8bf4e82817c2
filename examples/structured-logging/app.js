// Structured journal logging: custom fields, an Error with its cause chain as one entry, the
// caller's file and line, and a child process's output piped into the journal.
'use strict';
const { spawn } = require('node:child_process');
const { createLogger, journal } = require('libsystemd');

const log = createLogger({ identifier: 'shop', fields: { service: { name: 'shop', version: '1.4.2' } } });

log.info('order placed', { orderId: 'A-1001', userId: 42, amountCents: 1999 });
log.warning('slow payment provider', { provider: 'acme', latencyMs: 2300 });

try {
  try {
    JSON.parse('{not json');
  } catch (cause) {
    throw Object.assign(new Error('cannot read the basket', { cause }), { code: 'EBASKET' });
  }
} catch (err) {
  log.error(err, { orderId: 'A-1002' }); // one entry: MESSAGE, ERROR_NAME, ERROR_CODE, STACK_TRACE with "Caused by"
}

// Raw fields, byte-exact: multi-line text and binary values need no escaping.
journal.send({ MESSAGE: 'receipt rendered', MESSAGE_ID: 'f2a4b1e8c4c54b8e9d2c7f1a0b3c5d6e', RECEIPT: 'line 1\nline 2', THUMB: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });

// A child's stdout as journal lines at NOTICE; "<3>" at the start of a line makes it an error.
const child = spawn('sh', ['-c', 'echo "worker started"; echo "<3>worker failed to open cache"'], { stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.pipe(journal.stream({ identifier: 'shop-worker', priority: 'notice' }));

console.log(`logged; entries handed to journald: ${journal.stats().sent} (backend ${require('libsystemd').backend.kind})`);

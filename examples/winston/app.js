// winston into the journal with real priorities (warn → 4), fields, and errors with their cause.
'use strict';
const winston = require('winston');
const JournaldTransport = require('libsystemd/winston');

const log = winston.createLogger({
  level: 'debug',
  // Keep an Error's stack and cause on the log record (winston drops them otherwise).
  format: winston.format.errors({ stack: true, cause: true }),
  transports: [new JournaldTransport({ identifier: 'winston-demo' })],
});

log.info('order placed', { orderId: 'A-1001', user: { id: 42 } });
log.warn('slow payment provider', { latencyMs: 2300 });
log.error(new Error('card declined', { cause: new Error('issuer timeout') }));
log.debug('cache stats\nhits=120\nmisses=7');

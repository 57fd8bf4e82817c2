// pino into the journal: levels become real priorities, properties become fields, errors keep
// their stack and cause in one entry. The transport runs in pino's worker thread.
'use strict';
const pino = require('pino');

const log = pino({
  level: 'debug',
  transport: { target: 'libsystemd/pino', options: { identifier: 'pino-demo', fields: { service: 'checkout' } } },
});

log.info({ orderId: 'A-1001', user: { id: 42, plan: 'pro' } }, 'order placed');
log.warn({ latencyMs: 2300 }, 'slow payment provider');
log.error({ err: new Error('card declined', { cause: new Error('issuer timeout') }), orderId: 'A-1002' }, 'payment failed');
log.debug('cache stats\nhits=120\nmisses=7'); // one entry, three lines

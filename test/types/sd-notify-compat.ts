/**
 * Compile-time test (npm run typecheck): every call @types/sd-notify 2.8 allows still
 * type-checks against libsystemd/compat/sd-notify, along with the original's untyped JS calls.
 */
import * as sd from '../../lib/compat/sd-notify';

// The @types/sd-notify signatures.
sd.ready();
sd.stopping(process.pid);
sd.watchdog();
const interval: number = sd.watchdogInterval();
sd.startWatchdogMode(interval);
sd.stopWatchdogMode();
sd.sendState(['READY=1', 'STATUS=x']);
sd.sendStatus('ok');
sd.journalPrint(['OK', 'But']);
for (const f of [sd.log.emerg, sd.log.emergency, sd.log.alert, sd.log.crit, sd.log.critical, sd.log.err, sd.log.error, sd.log.warning, sd.log.warn, sd.log.notice, sd.log.info, sd.log.debug]) f(['a', 'b']);

// The JavaScript calls the original documents.
sd.stopping();
sd.startWatchdogMode();
sd.sendState('READY=1');
sd.journalPrint(3, 'message');
sd.log.info('joined', 42, { any: 'thing' });

export {};

/**
 * libsystemd/serve: the programmatic form of `libsystemd serve` (the same implementation).
 *
 * ```js
 * const { serve } = require('libsystemd/serve');
 * const cluster = await serve({ script: 'app.js', workers: 2 }); // READY=1 sent once both listen
 * process.exitCode = await cluster.done;                          // after SIGTERM: every worker drained
 * ```
 */
export { Cluster, serve, ServeError, workerCount, type ServeOptions } from './serve/cluster';

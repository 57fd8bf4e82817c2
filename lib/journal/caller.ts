/**
 * Who is logging: the running script's name (the default SYSLOG_IDENTIFIER) and the JavaScript
 * caller of a log call (CODE_FILE, CODE_LINE, CODE_FUNC) from V8's CallSites.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invocationShortName } from '../protocol/journal';
import type { FieldList } from './sanitize';

/** Node's options that take their value as the next argument (`-r mod`, `--import mod`…). */
const OPTION_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--title', '--inspect-port', '--debug-port', '--env-file', '--input-type', '--experimental-default-type', '--disable-warning', '--watch-path', '--test-reporter', '--test-reporter-destination', '--test-name-pattern', '--redirect-warnings', '--icu-data-dir', '--openssl-config', '--secure-heap', '--secure-heap-min', '--diagnostic-dir', '--report-dir', '--report-directory', '--report-filename', '--heapsnapshot-signal', '--cpu-prof-dir', '--cpu-prof-name', '--heap-prof-dir', '--heap-prof-name', '--stack-trace-limit', '--unhandled-rejections', '--dns-result-order']);

/**
 * The main script of the process as Node was started (/proc/self/cmdline: process-wide, where
 * process.argv of a worker thread names the worker's own file, e.g. pino's transport thread):
 * the first argument after Node's options, or undefined for -e/-p/a REPL.
 */
export function mainScriptFromCmdline(cmdline: readonly string[]): string | undefined {
  for (let i = 1; i < cmdline.length; i++) {
    const a = cmdline[i]!;
    if (a === '--') return cmdline[i + 1];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '-i' || a === '--interactive' || a === '-') return undefined;
    if (!a.startsWith('-')) return a;
    if (!a.includes('=') && OPTION_WITH_VALUE.has(a)) i++;
  }
  return undefined;
}

function mainScript(): string | undefined {
  let isMain = true;
  try {
    isMain = (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  } catch {
    // no worker_threads (another runtime): this is the main thread
  }
  if (isMain) return process.argv[1];
  try {
    const cmdline = readFileSync('/proc/self/cmdline', 'utf8').split('\0');
    if (cmdline.at(-1) === '') cmdline.pop();
    return mainScriptFromCmdline(cmdline);
  } catch {
    return undefined;
  }
}

let script: string | undefined;
/** The running script's name, as a user would call the service (the main thread's script, from a worker too). */
export function scriptName(): string {
  if (script !== undefined) return script;
  const path = mainScript();
  if (!path) return (script = invocationShortName);
  const b = basename(path);
  return (script = b.slice(0, b.length - extname(b).length) || b);
}

interface Location {
  file?: string;
  line?: number;
  func?: string;
}

/** The first stack frame above `below` (V8 CallSites; file:// URLs of ES modules become paths). */
function callerLocation(below: Function): Location {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.prepareStackTrace = (_e, cs) => cs;
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, below);
    const site = holder.stack?.[0];
    if (!site) return {};
    let file = site.getFileName() ?? undefined;
    if (file?.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep the URL
      }
    }
    // The type and method names only when there is no function name (each getter costs).
    const fn = site.getFunctionName();
    let func = fn ?? undefined;
    if (func === undefined) {
      const method = site.getMethodName();
      const type = method ? site.getTypeName() : null;
      func = method ? `${type ? `${type}.` : ''}${method}` : undefined;
    }
    const line = site.getLineNumber() ?? undefined;
    if (file && line !== undefined && sourceMapsEnabled()) {
      const original = mapped(file, line, site.getColumnNumber() ?? 1);
      if (original) return { file: original.file, line: original.line, func };
    }
    return { file, line, func };
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** Whether Node maps stack traces through source maps (--enable-source-maps, NODE_OPTIONS, or process.setSourceMapsEnabled). */
function sourceMapsEnabled(): boolean {
  const p = process as { sourceMapsEnabled?: boolean };
  if (typeof p.sourceMapsEnabled === 'boolean') return p.sourceMapsEnabled;
  return process.execArgv.includes('--enable-source-maps') || /(^|\s)--enable-source-maps\b/.test(process.env.NODE_OPTIONS ?? '');
}

/**
 * The original position of a compiled file's line and column (1-based) through its source map,
 * as Node's own stack traces show it with source maps on: the source's path (file:// URLs made
 * paths) and line. Undefined when the file has no map or the position no mapping.
 */
function mapped(file: string, line: number, column: number): { file: string; line: number } | undefined {
  try {
    const { findSourceMap } = require('node:module') as { findSourceMap?: (path: string) => { findEntry(l: number, c: number): Record<string, unknown> } | undefined };
    const map = findSourceMap?.(file);
    if (!map) return undefined;
    const e = map.findEntry(line - 1, column - 1);
    const source = e.originalSource;
    const origLine = e.originalLine;
    if (typeof source !== 'string' || typeof origLine !== 'number') return undefined;
    let path = source;
    if (path.startsWith('file://')) path = fileURLToPath(path);
    return { file: path, line: origLine + 1 };
  } catch {
    return undefined;
  }
}

/** Appends CODE_FILE, CODE_LINE and CODE_FUNC of the caller of `below` (those it can tell). */
export function pushCallerLocation(list: FieldList, below: Function): void {
  const loc = callerLocation(below);
  if (loc.file) list.push(['CODE_FILE', loc.file]);
  if (loc.line) list.push(['CODE_LINE', String(loc.line)]);
  if (loc.func) list.push(['CODE_FUNC', loc.func]);
}

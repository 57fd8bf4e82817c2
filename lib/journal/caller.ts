/**
 * Who is logging: the running script's name (the default SYSLOG_IDENTIFIER) and the JavaScript
 * caller of a log call (CODE_FILE, CODE_LINE, CODE_FUNC) from V8's CallSites.
 */
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invocationShortName } from '../protocol/journal';
import type { FieldList } from './sanitize';

/** The running script's name, as a user would call the service. */
export function scriptName(): string {
  const script = process.argv[1];
  if (!script) return invocationShortName;
  const b = basename(script);
  return b.slice(0, b.length - extname(b).length) || b;
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
    return { file, line: site.getLineNumber() ?? undefined, func };
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** Appends CODE_FILE, CODE_LINE and CODE_FUNC of the caller of `below` (those it can tell). */
export function pushCallerLocation(list: FieldList, below: Function): void {
  const loc = callerLocation(below);
  if (loc.file) list.push(['CODE_FILE', loc.file]);
  if (loc.line) list.push(['CODE_LINE', String(loc.line)]);
  if (loc.func) list.push(['CODE_FUNC', loc.func]);
}

/**
 * The documentation's code blocks, as the README tests read them. Every fenced block of
 * README.md and examples/*\/README.md is preceded by a marker comment:
 *   <!-- readme-test: NAME (which test runs it) -->   a test runs it as written
 *   <!-- not runnable: REASON -->                     (also "not runnable here", "not runnable as …")
 * In a runnable shell block, a line is a command unless it starts with `#` (sample output); in a
 * command's trailing comment (after two spaces), each `backticked` span is expected in the
 * command's output, in order (`…` between spans just reads as "and later").
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child';

export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  readonly test?: string;
  readonly notRunnable?: string;
}

export interface Command {
  readonly cmd: string;
  /** Texts the output must contain, in order. */
  readonly expect: readonly string[];
}

/** The documentation files: README.md and every examples/*\/README.md. */
export function docFiles(): string[] {
  const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join('examples', d.name, 'README.md'));
  return ['README.md', ...examples];
}

export function blocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const marker = start > 0 ? lines[start - 1]! : '';
    const test = /^<!-- readme-test: ([\w.-]+)/.exec(marker)?.[1];
    const notRunnable = /^<!-- not runnable[^:]*: (.+?) -->$/.exec(marker)?.[1];
    out.push({ file, line: start + 1, lang: open[1]!, text: lines.slice(start + 1, end).join('\n') + '\n', ...(test ? { test } : {}), ...(notRunnable ? { notRunnable } : {}) });
    i = end;
  }
  return out;
}

/** The blocks of `file` marked `readme-test: name`, in order (at least one). */
export function testBlocks(file: string, name: string): Block[] {
  const found = blocks(file).filter((b) => b.test === name);
  if (found.length === 0) throw new Error(`${file} has no block marked readme-test: ${name}`);
  return found;
}

/** The commands of shell blocks, with the output each comment expects. */
export function commands(...bs: Block[]): Command[] {
  const out: Command[] = [];
  for (const b of bs) {
    for (const raw of b.text.split('\n')) {
      if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
      const m = /^(.*?)\s{2,}#\s?(.*)$/.exec(raw);
      const cmd = (m ? m[1]! : raw).trim();
      const expect = m ? [...m[2]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!) : [];
      out.push({ cmd, expect });
    }
  }
  return out;
}

/** Throws unless every expected text is in `output`, in order. */
export function checkOutput(c: Command, output: string): void {
  let from = 0;
  for (const e of c.expect) {
    const at = output.indexOf(e, from);
    if (at < 0) throw new Error(`${c.cmd}: expected ${JSON.stringify(e)} in its output:\n${output.slice(0, 2000)}`);
    from = at + e.length;
  }
}

/** A project directory whose node_modules/libsystemd is this checkout, as `npm install` would make it. */
export function project(dir: string): string {
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'libsystemd'));
  symlinkSync('../libsystemd/dist/cli.js', join(dir, 'node_modules', '.bin', 'libsystemd'));
  return dir;
}

/** Hostile values for the unit generator's tests (test/unit-generator.test.ts, test/system/unit.test.ts). */
import { MAX_ARG_STRLEN } from '../../lib/cli/unit-file';

/** Values a user (or an attacker) could pass. */
export const HOSTILE: readonly string[] = [
  'plain',
  'two words',
  'demo\n[Service]\nExecStartPre=/bin/touch /run/INJECTED',
  'x\nExecStartPre=/bin/touch /run/INJECTED',
  '\r\n[Install]\r\n',
  '%h',
  '%%',
  '50%',
  '%n%i%',
  '$PATH',
  '${X}',
  '$$',
  '$',
  'a$',
  '"quoted"',
  "'single'",
  '"',
  'back\\slash',
  'trailing\\',
  'trailing\\\\',
  '\\n',
  '\\x41\\$',
  ' leading space',
  'trailing space ',
  '\ttab',
  'a\tb',
  'ünïcødé ✓ 日本語',
  '😀 \u00a0nbsp\u00a0',
  '\u2028',
  ';',
  '\\;',
  'a ; b',
  '-dash',
  '@at',
  '+plus',
  '!bang',
  '!!bang',
  ':colon',
  '#comment',
  '[Service]',
  '\x01control',
  'del\x7f',
  'nul\0byte',
  'lone \ud800 surrogate',
  'nonchar \ufdd0 \uffff \u{10fffe}',
  '',
  'x'.repeat(100_000),
  'y'.repeat(MAX_ARG_STRLEN + 1),
];


export const CC = /[\x00-\x1f\x7f]/;
/** What a setting that takes its value as written can hold (systemd strips " \t\n\r" and joins a line ending in an odd backslash). */
/** Text systemd reads as UTF-8: no lone surrogate, no noncharacter (unichar_is_valid). */
export const wellFormed = (v: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v) && ![...v].some((c) => { const cp = c.codePointAt(0)!; return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe; });
export const asWritten = (v: string) => v !== '' && !CC.test(v) && !/^[ \t\n\r]|[ \t\n\r]$/.test(v) && !/(^|[^\\])(\\\\)*\\$/.test(v) && wellFormed(v);
/** A path systemd takes: as written, under PATH_MAX, no component over NAME_MAX. */
export const asPath = (p: string) => asWritten(p) && Buffer.byteLength(p) < 4096 && p.split('/').every((c) => Buffer.byteLength(c) <= 255);
export const anyText = (v: string) => !v.includes('\0') && wellFormed(v);
export const fileName = (v: string) => v !== '' && !v.includes('/') && !v.includes('\0') && Buffer.byteLength(v) <= 200 && wellFormed(v);


/**
 * journalctl's filters as sd-journal match operations (journalctl v252 and logs-show.c:
 * add_matches_for_unit, add_matches_for_user_unit, -t, -p, -b): each group is ANDed with the
 * others; within a group `+` starts another alternative. The operations are `FIELD=value`
 * (sd_journal_add_match), DISJUNCTION and CONJUNCTION.
 */
export const DISJUNCTION = '+';
export const CONJUNCTION = '&&';

/** The MESSAGE_ID of systemd-coredump's entries. */
const COREDUMP = 'MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1';

export interface MatchGroups {
  /** Raw matches (`FIELD=value`), `+` for a disjunction, as journalctl's arguments. */
  readonly matches: readonly string[];
  readonly units: readonly string[];
  readonly userUnits: readonly string[];
  readonly identifiers: readonly string[];
  /** The highest priority kept (0-7). */
  readonly priority?: number;
  /** A boot id (32 hex digits). */
  readonly boot?: string;
  /** The uid whose user units are meant (journalctl --user-unit: the caller's). */
  readonly uid: number;
}

function unitTerms(u: string): string[] {
  const t = [`_SYSTEMD_UNIT=${u}`, DISJUNCTION, COREDUMP, '_UID=0', `COREDUMP_UNIT=${u}`, DISJUNCTION, '_PID=1', `UNIT=${u}`, DISJUNCTION, '_UID=0', `OBJECT_SYSTEMD_UNIT=${u}`];
  if (u.endsWith('.slice')) t.push(DISJUNCTION, `_SYSTEMD_SLICE=${u}`);
  return t;
}

function userUnitTerms(u: string, uid: number): string[] {
  const id = `_UID=${uid}`;
  const t = [`_SYSTEMD_USER_UNIT=${u}`, id, DISJUNCTION, `USER_UNIT=${u}`, id, DISJUNCTION, COREDUMP, `COREDUMP_USER_UNIT=${u}`, id, '_UID=0', DISJUNCTION, `OBJECT_SYSTEMD_USER_UNIT=${u}`, id, '_UID=0'];
  if (u.endsWith('.slice')) t.push(DISJUNCTION, `_SYSTEMD_USER_SLICE=${u}`);
  return t;
}

/** The operations, in journalctl's order: raw matches, boot, units, user units, identifiers, priorities. */
export function matchOperations(g: MatchGroups): string[] {
  const ops: string[] = [...g.matches];
  const group = (terms: string[]): void => {
    if (terms.length === 0) return;
    if (ops.length > 0) ops.push(CONJUNCTION);
    ops.push(...terms);
  };
  if (g.boot !== undefined) group([`_BOOT_ID=${g.boot}`]);
  group(g.units.flatMap((u, i) => (i > 0 ? [DISJUNCTION, ...unitTerms(u)] : unitTerms(u))));
  group(g.userUnits.flatMap((u, i) => (i > 0 ? [DISJUNCTION, ...userUnitTerms(u, g.uid)] : userUnitTerms(u, g.uid))));
  group(g.identifiers.map((id) => `SYSLOG_IDENTIFIER=${id}`));
  if (g.priority !== undefined) group(Array.from({ length: g.priority + 1 }, (_, p) => `PRIORITY=${p}`));
  return ops;
}

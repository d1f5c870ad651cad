/**
 * SASLprep (RFC 4013), the stringprep profile SCRAM applies to passwords (RFC 5802 section 2.2, "Normalize"),
 * as a query string: unassigned code points are allowed. The tables are RFC 3454's (./stringprep-tables.ts);
 * normalization is the platform's NFKC, whose results for characters assigned in Unicode 3.2 are stable by
 * Unicode's normalization stability policy.
 */
import * as T from './stringprep-tables.js';

/** Why a string is not valid under SASLprep; names a class of characters, never the string. */
export class SaslprepError extends Error {
  constructor(readonly reason: 'prohibited' | 'bidi') {
    super(reason === 'prohibited'
      ? 'it contains a character SASLprep prohibits (a control, private-use, surrogate, non-character, tagging or display-changing code point)'
      : 'it mixes right-to-left and left-to-right characters in a way SASLprep forbids (RFC 3454 section 6)');
    this.name = 'SaslprepError';
  }
}

type Table = Uint32Array;
const cache = new Map<string, Table>();

/** Decodes a table of the generated file: [start0, end0, start1, end1, ...]. */
function table(encoded: string): Table {
  let t = cache.get(encoded);
  if (t !== undefined) return t;
  const pairs = encoded.split(',');
  t = new Uint32Array(pairs.length * 2);
  let prev = -1;
  pairs.forEach((p, i) => {
    const [gap, span] = p.split('.');
    const start = prev + 1 + parseInt(gap, 36);
    prev = start + parseInt(span, 36);
    t![2 * i] = start;
    t![2 * i + 1] = prev;
  });
  cache.set(encoded, t);
  return t;
}

function inTable(t: Table, cp: number): boolean {
  let lo = 0;
  let hi = t.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < t[2 * mid]) hi = mid - 1;
    else if (cp > t[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Whether `bytes` is printable ASCII (0x20-0x7E), for which SASLprep is the identity. */
export function isPrintableAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

/** Applies SASLprep to `input`; throws {@link SaslprepError} when the result is not allowed. */
export function saslprep(input: string): string {
  const space = table(T.NON_ASCII_SPACE);
  const nothing = table(T.MAPPED_TO_NOTHING);
  // 1. Mapping (RFC 4013 section 2.1): non-ASCII spaces become SPACE; B.1 characters disappear.
  let mapped = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (inTable(space, cp)) mapped += ' ';
    else if (!inTable(nothing, cp)) mapped += ch;
  }
  // 2. Normalization (section 2.2): form KC.
  const normalized = mapped.normalize('NFKC');
  // 3. Prohibited output (section 2.3) and 4. bidirectional characters (section 2.4, RFC 3454 section 6).
  const prohibited = table(T.PROHIBITED);
  const randAl = table(T.RAND_AL_CAT);
  const l = table(T.L_CAT);
  let hasRandAl = false;
  let hasL = false;
  const cps: number[] = [];
  for (const ch of normalized) {
    const cp = ch.codePointAt(0)!;
    if (inTable(prohibited, cp)) throw new SaslprepError('prohibited');
    if (inTable(randAl, cp)) hasRandAl = true;
    if (inTable(l, cp)) hasL = true;
    cps.push(cp);
  }
  if (hasRandAl && (hasL || !inTable(randAl, cps[0]) || !inTable(randAl, cps[cps.length - 1]))) {
    throw new SaslprepError('bidi');
  }
  return normalized;
}

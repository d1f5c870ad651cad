/**
 * SASLprep (RFC 4013): the examples of its section 3, each mapping and prohibition class, the bidi rule, and
 * the generated RFC 3454 tables against Python's stringprep (when /usr/bin/python3 is there, as in CI).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isPrintableAscii, saslprep, SaslprepError } from '../../src/protocol/sasl/saslprep';

function reason(input: string): string | null {
  try {
    saslprep(input);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(SaslprepError);
    expect((e as Error).message).not.toContain(input);
    return (e as SaslprepError).reason;
  }
}

test('RFC 4013 section 3 examples', () => {
  expect(saslprep('I\u00ADX')).toBe('IX'); // SOFT HYPHEN mapped to nothing
  expect(saslprep('user')).toBe('user');
  expect(saslprep('USER')).toBe('USER'); // case is preserved
  expect(saslprep('\u00AA')).toBe('a'); // output is NFKC
  expect(saslprep('\u2168')).toBe('IX');
  expect(reason('\u0007')).toBe('prohibited');
  expect(reason('\u0627\u0031')).toBe('bidi'); // RandALCat string must end with RandALCat
});

test('non-ASCII spaces become SPACE; B.1 characters vanish; NFKC composes', () => {
  expect(saslprep('a\u00A0b\u3000c')).toBe('a b c');
  expect(saslprep('a\u00ADb\uFEFFc\u034Fd\u200Ce\u2060f')).toBe('abcdef');
  // ZERO WIDTH SPACE is in both C.1.2 and B.1; the space mapping comes first, as RFC 4013 lists it.
  expect(saslprep('a\u200Bb')).toBe('a b');
  expect(saslprep('e\u0301')).toBe('\u00E9');
  expect(saslprep('Grüße')).toBe('Grüße');
});

test.each([
  ['ASCII control', 'a\u0000b'],
  ['DEL', 'a\u007Fb'],
  ['non-ASCII control', 'a\u0085b'],
  ['private use', 'a\uE000b'],
  ['non-character', 'a\uFFFFb'],
  ['lone surrogate', 'a\uD800b'],
  ['plane 15 private use', 'a\u{F0000}b'],
  ['inappropriate for plain text', 'a\uFFF9b'],
  ['display property change', 'a\u200Eb'],
  ['tagging', 'a\u{E0001}b'],
])('prohibited: %s', (_what, input) => {
  expect(reason(input)).toBe('prohibited');
});

test('bidi: RandALCat strings must not hold LCat and must start and end with RandALCat', () => {
  expect(saslprep('\u0627\u0031\u0628')).toBe('\u0627\u0031\u0628');
  expect(reason('\u0627a\u0628')).toBe('bidi');
  expect(reason('1\u0627')).toBe('bidi');
  expect(saslprep('\u05D0\u05D1')).toBe('\u05D0\u05D1');
});

test('unassigned code points are allowed (a query string, as SCRAM prepares passwords)', () => {
  expect(saslprep('a\u{E0080}b'.replace('\u{E0080}', '\u0378'))).toBe('a\u0378b');
});

test('printable ASCII is recognised as needing no preparation', () => {
  expect(isPrintableAscii(new TextEncoder().encode(' ~azAZ09!'))).toBe(true);
  expect(isPrintableAscii(new TextEncoder().encode('a\tb'))).toBe(false);
  expect(isPrintableAscii(new TextEncoder().encode('ü'))).toBe(false);
});

const PYTHON = '/usr/bin/python3';
(existsSync(PYTHON) || process.env.CI ? test : test.skip)('the generated tables are what scripts/stringprep-tables.py makes from Python\'s RFC 3454 tables', () => {
  execFileSync(PYTHON, ['scripts/stringprep-tables.py', '--check'], { cwd: `${__dirname}/../..`, timeout: 120_000 });
}, 150_000);

/** Choosing the SASL mechanism: strongest offered, auth=sasl.MECH, and nothing at all on plain TCP. */
import { SaslError } from '../../src/protocol/sasl/errors';
import { chooseMechanism, parseMechlist } from '../../src/protocol/sasl/mechanisms';

function failure(offered: string[], wanted: string | undefined, confidential: boolean): SaslError {
  try {
    chooseMechanism(offered, wanted, confidential);
  } catch (e) {
    expect(e).toBeInstanceOf(SaslError);
    return e as SaslError;
  }
  throw new Error('expected a SaslError');
}

test('the daemon\'s comma-separated list (and Cyrus\'s spaces) split into names', () => {
  expect(parseMechlist('SCRAM-SHA-256,SCRAM-SHA-1,PLAIN,DIGEST-MD5')).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'DIGEST-MD5']);
  expect(parseMechlist(' PLAIN  GSSAPI,')).toEqual(['PLAIN', 'GSSAPI']);
  expect(parseMechlist('')).toEqual([]);
});

test('the strongest offered mechanism wins, whatever the daemon\'s order', () => {
  expect(chooseMechanism(['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'DIGEST-MD5'], undefined, true)).toBe('SCRAM-SHA-256');
  expect(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], undefined, true)).toBe('SCRAM-SHA-1');
  expect(chooseMechanism(['GSSAPI', 'PLAIN'], undefined, true)).toBe('PLAIN');
});

test('auth=sasl.MECH narrows the choice to that mechanism', () => {
  expect(chooseMechanism(['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'], 'PLAIN', true)).toBe('PLAIN');
  expect(chooseMechanism(['SCRAM-SHA-256', 'SCRAM-SHA-1'], 'SCRAM-SHA-1', true)).toBe('SCRAM-SHA-1');
});

test('a wanted mechanism the daemon does not offer names what it offers', () => {
  const e = failure(['SCRAM-SHA-256', 'PLAIN'], 'SCRAM-SHA-1', true);
  expect(e.code).toBe('ERR_SASL_MECHANISM_NOT_OFFERED');
  expect(e.message).toContain('SCRAM-SHA-256, PLAIN');
  expect(e.offered).toEqual(['SCRAM-SHA-256', 'PLAIN']);
  expect(failure(['PLAIN'], 'plain', true).message).toContain('upper case: PLAIN');
});

test('a wanted mechanism that is offered but not implemented is unsupported', () => {
  expect(failure(['DIGEST-MD5', 'PLAIN'], 'DIGEST-MD5', true).code).toBe('ERR_SASL_MECHANISM_UNSUPPORTED');
});

test('a daemon that offers only mechanisms this client lacks', () => {
  const e = failure(['DIGEST-MD5', 'GSSAPI'], undefined, true);
  expect(e.code).toBe('ERR_SASL_NO_MECHANISM');
  expect(e.message).toContain('DIGEST-MD5, GSSAPI');
});

test.each([
  [['SCRAM-SHA-256', 'PLAIN'], undefined],
  [['PLAIN'], 'PLAIN'],
  [['DIGEST-MD5'], undefined],
  [[], undefined],
])('plain TCP (offered %j, wanted %s): refused, explaining the security layer and pointing to TLS', (offered, wanted) => {
  const e = failure(offered, wanted, false);
  expect(e.code).toBe('ERR_SASL_INSECURE_CHANNEL');
  expect(e.message).toMatch(/SSF/);
  expect(e.message).toMatch(/qemu\+tls:/);
  expect(e.message).toContain(offered.length ? offered.join(', ') : 'offers: none');
});

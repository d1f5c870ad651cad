/**
 * SCRAM-SHA-1 and SCRAM-SHA-256 against the example exchanges of RFC 5802 (section 5) and RFC 7677 (section 3),
 * and every way a server's messages can break the rules: each is a typed SaslError, and the password is zeroed.
 */
import { SaslError } from '../../src/protocol/sasl/errors';
import { SCRAM_MAX_ITERATIONS, ScramClient, scramNonce } from '../../src/protocol/sasl/scram';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const RFC5802 = {
  mechanism: 'SCRAM-SHA-1',
  nonce: 'fyko+d2lbbFgONRv9qkxdawL',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};
const RFC7677 = {
  mechanism: 'SCRAM-SHA-256',
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(SaslError);
    expect((e as Error).message).not.toContain('pencil');
    return (e as SaslError).code;
  }
  throw new Error('expected a SaslError');
}

describe.each([RFC5802, RFC7677])('$mechanism: the RFC example exchange', (v) => {
  test('client-first, client-final with the proof, and the server signature check', async () => {
    const password = enc('pencil');
    const client = new ScramClient(v.mechanism, 'user', password, v.nonce);
    expect(dec(client.clientFirst())).toBe(v.clientFirst);
    expect(dec(await client.clientFinal(enc(v.serverFirst)))).toBe(v.clientFinal);
    expect(password.every((b) => b === 0)).toBe(true);
    expect(() => client.verifyServerFinal(enc(v.serverFinal))).not.toThrow();
  });

  test('a server signature that differs by one bit is refused', async () => {
    const client = new ScramClient(v.mechanism, 'user', enc('pencil'), v.nonce);
    await client.clientFinal(enc(v.serverFirst));
    const sig = Buffer.from(v.serverFinal.slice(2), 'base64');
    sig[sig.length - 1] ^= 1;
    expect(await codeOf(() => client.verifyServerFinal(enc(`v=${sig.toString('base64')}`)))).toBe('ERR_SASL_SERVER_SIGNATURE');
  });

  test('a wrong password gives another proof, and the real server signature no longer verifies', async () => {
    const client = new ScramClient(v.mechanism, 'user', enc('pencil!'), v.nonce);
    expect(dec(await client.clientFinal(enc(v.serverFirst)))).not.toBe(v.clientFinal);
    expect(await codeOf(() => client.verifyServerFinal(enc(v.serverFinal)))).toBe('ERR_SASL_SERVER_SIGNATURE');
  });
});

describe('a server-first message that breaks the rules is refused before any proof is computed', () => {
  const n = RFC7677.nonce;
  test.each([
    ['a nonce that does not extend ours', `r=other${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
    ['a nonce equal to ours', `r=${n},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
    ['a mandatory extension', `m=ext,r=${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
    ['attributes out of order', `s=W22ZaJ0SNY7soEsUEjb6gQ==,r=${n}x,i=4096`],
    ['a salt that is not base64', `r=${n}x,s=not*base64,i=4096`],
    ['an empty salt', `r=${n}x,s=,i=4096`],
    ['an iteration count below 4096', `r=${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`],
    ['a huge iteration count', `r=${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${SCRAM_MAX_ITERATIONS + 1}`],
    ['a non-numeric iteration count', `r=${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096a`],
    ['a leading zero', `r=${n}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096`],
    ['no attributes', 'garbage'],
    ['bytes outside printable ASCII', `r=${n}\u00e9,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`],
  ])('%s', async (_what, serverFirst) => {
    const password = enc('pencil');
    const client = new ScramClient('SCRAM-SHA-256', 'user', password, n);
    expect(await codeOf(client.clientFinal(enc(serverFirst)))).toBe('ERR_SASL_PROTOCOL');
    expect(password.every((b) => b === 0)).toBe(true);
  });
});

describe('the server-final message', () => {
  async function afterProof(): Promise<ScramClient> {
    const client = new ScramClient('SCRAM-SHA-256', 'user', enc('pencil'), RFC7677.nonce);
    await client.clientFinal(enc(RFC7677.serverFirst));
    return client;
  }
  test('e=invalid-proof is a rejection naming the server\'s reason', async () => {
    const client = await afterProof();
    let err: unknown;
    try {
      client.verifyServerFinal(enc('e=invalid-proof'));
    } catch (e) {
      err = e;
    }
    expect((err as SaslError).code).toBe('ERR_SASL_REJECTED');
    expect((err as Error).message).toContain('invalid-proof');
  });
  test.each([['none at all', null], ['an empty one', ''], ['v= without base64', 'v=***'], ['another attribute', 'x=1']])('%s: no signature, refused', async (_w, msg) => {
    const client = await afterProof();
    expect(await codeOf(() => client.verifyServerFinal(msg === null ? null : enc(msg)))).toBe('ERR_SASL_SERVER_SIGNATURE');
  });
  test('checking it twice is a protocol error (the expected signature is gone)', async () => {
    const client = await afterProof();
    client.verifyServerFinal(enc(RFC7677.serverFinal));
    expect(await codeOf(() => client.verifyServerFinal(enc(RFC7677.serverFinal)))).toBe('ERR_SASL_PROTOCOL');
  });
});

test('user names with , and = are escaped as =2C and =3D (RFC 5802 section 5.1)', () => {
  const client = new ScramClient('SCRAM-SHA-1', 'a,b=c', enc('x'), 'N');
  expect(dec(client.clientFirst())).toBe('n,,n=a=2Cb=3Dc,r=N');
});

test('nonces come from the CSPRNG: 24 bytes, base64, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const nonce = scramNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{32}$/);
    seen.add(nonce);
  }
  expect(seen.size).toBe(1000);
});

test('a mechanism that is not SCRAM-SHA-1 or SCRAM-SHA-256 is refused', async () => {
  expect(await codeOf(() => new ScramClient('SCRAM-SHA-512', 'u', enc('p')))).toBe('ERR_SASL_MECHANISM_UNSUPPORTED');
});

/**
 * The SASL exchange of the open sequence against a scripted daemon (test/helpers/sasl-daemon.ts, whose SCRAM
 * server is written with node:crypto): mechanisms, credentials from auth.conf and the callback, a server that
 * cannot prove it knows the password, one that declares success too early, one that stalls, refusals, and no
 * secret in any error, cause, debug line or call trace.
 */
import { AuthError, TimeoutError } from '../../src/errors';
import { RemoteConnection, type ConnectionOptions } from '../../src/protocol/connection';
import { setCallTracer, setDebugLog } from '../../src/protocol/observe';
import { AuthConfig } from '../../src/protocol/sasl/auth-config';
import type { SaslCredentialRequest } from '../../src/protocol/sasl/credentials';
import { SaslError } from '../../src/protocol/sasl/errors';
import { saslDaemon, SaslDaemonOptions, SaslPeer } from '../helpers/sasl-daemon';

const PASSWORD = 'correct horse Battery staple';
const USERS = { alice: PASSWORD, bob: 'a b' };
const ALL = 'SCRAM-SHA-256,SCRAM-SHA-1,PLAIN,DIGEST-MD5';

const debugLines: string[] = [];
const traces: string[] = [];
beforeAll(() => {
  setDebugLog((l) => debugLines.push(l));
  const record = (t: object) => traces.push(JSON.stringify(t, (_k, v: unknown) => (v instanceof Error ? v.message : v)));
  setCallTracer({ enabled: true, start: record, end: record, error: record });
});
afterAll(() => {
  setDebugLog(null);
  setCallTracer(null);
  // No secret reached the debug log or the call tracer in any test of this file.
  for (const text of [...debugLines, ...traces]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('p=');
  }
});

function callback(user: string, password: string | Uint8Array, asked: SaslCredentialRequest[] = []) {
  return (r: SaslCredentialRequest) => {
    asked.push(r);
    return r.type === 'sasl-authname' ? user : password;
  };
}

async function open(confidential: boolean, daemon: Partial<SaslDaemonOptions>, options: Partial<ConnectionOptions>) {
  const peer = new SaslPeer(confidential);
  const log = saslDaemon(peer, { mechanisms: ALL, users: USERS, ...daemon });
  const result = await RemoteConnection.open(peer, { name: 'qemu:///system', keepalive: false, timeout: 10_000, ...options }).then(
    (conn) => ({ conn, error: null }),
    (error: unknown) => ({ conn: null, error }),
  );
  result.conn?.destroy();
  return { peer, log, ...result };
}

/** The error, checked to be a SaslError that carries no secret, in its message or anywhere in its cause chain. */
function saslError(e: unknown, code: string): SaslError {
  expect(e).toBeInstanceOf(SaslError);
  expect((e as SaslError).code).toBe(code);
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    expect(c.message).not.toContain(PASSWORD);
    expect(c.stack ?? '').not.toContain(PASSWORD);
  }
  return e as SaslError;
}

test('SCRAM-SHA-256 is chosen from the offered list, the callback asked for the user name then the password', async () => {
  const asked: SaslCredentialRequest[] = [];
  const r = await open(true, {}, { credentials: callback('alice', PASSWORD, asked), authHost: 'h1' });
  expect(r.error).toBeNull();
  expect(r.log.mechanism).toBe('SCRAM-SHA-256');
  expect(r.log.authenticatedAs).toBe('alice');
  expect(asked.map((a) => [a.type, a.echo, a.host, a.mechanism])).toEqual([
    ['sasl-authname', true, 'h1', 'SCRAM-SHA-256'],
    ['sasl-password', false, 'h1', 'SCRAM-SHA-256'],
  ]);
  expect(asked[1]).toMatchObject({ authname: 'alice' });
  // AUTH_LIST (with the early calls refused), the exchange, then the feature check and open, sent again.
  expect(r.log.calls.slice(3)).toEqual(['REMOTE_PROC_AUTH_SASL_INIT', 'REMOTE_PROC_AUTH_SASL_START', 'REMOTE_PROC_AUTH_SASL_STEP',
    'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE', 'REMOTE_PROC_CONNECT_OPEN']);
  expect(Buffer.concat(r.peer.writes).includes(Buffer.from(PASSWORD))).toBe(false);
});

test('auth=sasl.SCRAM-SHA-1 narrows the choice; the password is prepared with SASLprep (NO-BREAK SPACE is SPACE)', async () => {
  const r = await open(true, {}, { auth: 'sasl.SCRAM-SHA-1', credentials: callback('bob', 'a\u00A0b') });
  expect(r.error).toBeNull();
  // With auth=sasl... SASL_INIT goes out right behind AUTH_LIST (no early CONNECT_OPEN), once.
  expect(r.log.calls.slice(0, 3)).toEqual(['REMOTE_PROC_AUTH_LIST', 'REMOTE_PROC_AUTH_SASL_INIT', 'REMOTE_PROC_AUTH_SASL_START']);
  expect(r.log.mechanism).toBe('SCRAM-SHA-1');
  expect(r.log.authenticatedAs).toBe('bob');
});

test('a daemon that stores the password unprepared (as Cyrus does) refuses the SASLprep-ed one; the refusal says why', async () => {
  const r = await open(true, { users: { eve: 'ab\u00ADcd' } }, { credentials: callback('eve', 'ab\u00ADcd') });
  expect(saslError(r.error, 'ERR_SASL_REJECTED').message).toMatch(/SASLprep \(RFC 4013\) changed this password/);
  const ascii = await open(true, {}, { credentials: callback('alice', 'wrong') });
  expect(saslError(ascii.error, 'ERR_SASL_REJECTED').message).not.toMatch(/SASLprep/);
});

test('PLAIN sends "\\0authname\\0password" in SASL_START and needs no step', async () => {
  const r = await open(true, { mechanisms: 'PLAIN,DIGEST-MD5' }, { credentials: callback('alice', PASSWORD) });
  expect(r.error).toBeNull();
  expect(r.log.clientData).toEqual([Buffer.from(`\0alice\0${PASSWORD}`)]);
  expect(r.log.calls).not.toContain('REMOTE_PROC_AUTH_SASL_STEP');
});

test('credentials from auth.conf come first; the callback is asked only for what is missing', async () => {
  const conf = (text: string) => async () => AuthConfig.parse('/a/auth.conf', new TextEncoder().encode(text));
  const asked: SaslCredentialRequest[] = [];
  const r = await open(true, {}, {
    authHost: 'h2', credentials: callback('nobody', PASSWORD, asked),
    authConfig: conf('[credentials-x]\nauthname=alice\n[auth-libvirt-h2]\ncredentials=x\n'),
  });
  expect(r.error).toBeNull();
  expect(asked.map((a) => a.type)).toEqual(['sasl-password']);
  const both = await open(true, {}, {
    authHost: 'h3', credentials: () => { throw new Error('must not be asked'); },
    authConfig: conf(`[credentials-x]\nauthname=alice\npassword=${PASSWORD}\n[auth-libvirt-default]\ncredentials=x\n`),
  });
  expect(both.error).toBeNull();
  expect(both.log.authenticatedAs).toBe('alice');
});

test('a Uint8Array password from the callback is zeroed once used', async () => {
  const password = new TextEncoder().encode(PASSWORD);
  const r = await open(true, {}, { credentials: callback('alice', password) });
  expect(r.error).toBeNull();
  expect(password.every((b) => b === 0)).toBe(true);
});

test('a server signature that does not verify: refused, and CONNECT_OPEN is never sent', async () => {
  const r = await open(true, { badSignature: true }, { credentials: callback('alice', PASSWORD) });
  expect(saslError(r.error, 'ERR_SASL_SERVER_SIGNATURE').message).toMatch(/has not shown that it knows the password/);
  expect(r.log.calls.slice(3)).not.toContain('REMOTE_PROC_CONNECT_OPEN');
  expect(r.peer.destroyed).not.toBeNull();
});

test('a server that declares success without a server-final message, or before the proof, is refused', async () => {
  const none = await open(true, { noServerFinal: true }, { credentials: callback('alice', PASSWORD) });
  saslError(none.error, 'ERR_SASL_SERVER_SIGNATURE');
  const early = await open(true, { completeAtStart: true }, { credentials: callback('alice', PASSWORD) });
  saslError(early.error, 'ERR_SASL_SERVER_SIGNATURE');
  expect(early.log.calls).not.toContain('REMOTE_PROC_AUTH_SASL_STEP'); // no proof was sent
});

test('a server that sends its final message with complete = 0 gets one empty step', async () => {
  const r = await open(true, { finalInExtraStep: true }, { credentials: callback('alice', PASSWORD) });
  expect(r.error).toBeNull();
  expect(r.log.calls.filter((c) => c === 'REMOTE_PROC_AUTH_SASL_STEP')).toHaveLength(2);
  expect(r.log.clientData[2]).toEqual(Buffer.alloc(0));
});

test.each([['a wrong password', 'alice', 'not the password'], ['an unknown user', 'mallory', PASSWORD]])('%s: the daemon\'s refusal is ERR_SASL_REJECTED', async (_w, user, pw) => {
  const r = await open(true, {}, { credentials: callback(user, pw) });
  const e = saslError(r.error, 'ERR_SASL_REJECTED');
  expect(e.message).toContain(`'${user}'`);
  expect(e.message).not.toContain(pw);
  expect(e).toBeInstanceOf(AuthError);
});

test('on a channel that is not confidential nothing is sent after SASL_INIT, and the error names what was offered', async () => {
  const asked: SaslCredentialRequest[] = [];
  const r = await open(false, { mechanisms: 'SCRAM-SHA-256,PLAIN' }, { credentials: callback('alice', PASSWORD, asked) });
  const e = saslError(r.error, 'ERR_SASL_INSECURE_CHANNEL');
  expect(e.offered).toEqual(['SCRAM-SHA-256', 'PLAIN']);
  expect(asked).toEqual([]);
  expect(r.log.calls).not.toContain('REMOTE_PROC_AUTH_SASL_START');
});

test('a daemon offering only mechanisms this client lacks; a wanted mechanism it does not offer; an unknown auth type', async () => {
  saslError((await open(true, { mechanisms: 'DIGEST-MD5,GSSAPI' }, { credentials: callback('alice', PASSWORD) })).error, 'ERR_SASL_NO_MECHANISM');
  saslError((await open(true, {}, { auth: 'sasl.GSSAPI', credentials: callback('alice', PASSWORD) })).error, 'ERR_SASL_MECHANISM_NOT_OFFERED');
  saslError((await open(true, {}, { auth: 'SASL.DIGEST-MD5', credentials: callback('alice', PASSWORD) })).error, 'ERR_SASL_MECHANISM_UNSUPPORTED');
  expect((await open(true, {}, { auth: 'kerberos' })).error).toEqual(new AuthError("unknown authentication type 'kerberos' (expected sasl, sasl.MECHANISM or polkit)"));
});

test('SASL_INIT failing: no mechanism on a confidential channel, the security layer on plain TCP', async () => {
  saslError((await open(true, { initFails: true }, {})).error, 'ERR_SASL_NO_MECHANISM');
  const tcp = saslError((await open(false, { initFails: true }, {})).error, 'ERR_SASL_INSECURE_CHANNEL');
  expect(tcp.offered).toEqual([]);
});

test('auth.conf read for an exchange that is then refused is zeroed', async () => {
  const config = AuthConfig.parse('/a/auth.conf', new TextEncoder().encode(`[credentials-x]\npassword=${PASSWORD}\n[auth-libvirt-default]\ncredentials=x\n`));
  const r = await open(false, {}, { authConfig: async () => config });
  saslError(r.error, 'ERR_SASL_INSECURE_CHANNEL');
  await new Promise((resolve) => setImmediate(resolve));
  expect(config.hasGroup('credentials-x')).toBe(false);
});

test('missing credentials: no callback, a declining callback, a failing one, a boolean answer', async () => {
  const none = await open(true, {}, {});
  expect(saslError(none.error, 'ERR_SASL_NO_CREDENTIALS').message).toMatch(/no auth.conf was found, and there is no credentials callback/);
  expect(none.log.calls).not.toContain('REMOTE_PROC_AUTH_SASL_START');
  const conf = async () => AuthConfig.parse('/a/auth.conf', new TextEncoder().encode('[credentials-x]\nusername=alice\n[auth-libvirt-default]\ncredentials=x\n'));
  expect(saslError((await open(true, {}, { authConfig: conf })).error, 'ERR_SASL_NO_CREDENTIALS').message).toMatch(/it has 'username', but libvirt's SASL uses 'authname'/);
  saslError((await open(true, {}, { credentials: () => null })).error, 'ERR_SASL_NO_CREDENTIALS');
  const failing = (await open(true, {}, { credentials: () => { throw new Error('no tty'); } })).error as SaslError;
  saslError(failing, 'ERR_SASL_NO_CREDENTIALS');
  expect((failing.cause as Error).message).toBe('no tty');
  saslError((await open(true, {}, { credentials: () => true })).error, 'ERR_SASL_INVALID_CREDENTIALS');
});

test('a password SASLprep refuses is refused before anything is sent', async () => {
  const r = await open(true, {}, { credentials: callback('alice', 'bad\u0007bell') });
  expect(saslError(r.error, 'ERR_SASL_INVALID_CREDENTIALS').message).not.toContain('bell');
  expect(r.log.calls).not.toContain('REMOTE_PROC_AUTH_SASL_START');
});

describe('a daemon (or a callback) that stalls is bounded by the open timeout', () => {
  test.each(['REMOTE_PROC_AUTH_SASL_INIT', 'REMOTE_PROC_AUTH_SASL_START', 'REMOTE_PROC_AUTH_SASL_STEP'] as const)('no answer to %s: TimeoutError', async (stallAt) => {
    const t0 = Date.now();
    const r = await open(true, { stallAt }, { credentials: callback('alice', PASSWORD), timeout: 1000 });
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.peer.destroyed).not.toBeNull();
  });
  test('a credentials callback that never answers: TimeoutError', async () => {
    const r = await open(true, {}, { credentials: () => new Promise<never>(() => undefined), timeout: 1000 });
    expect(r.error).toBeInstanceOf(TimeoutError);
  });
});

/**
 * SASL failures against the real daemon, each a typed error within a bound and none carrying a secret: a wrong
 * password, an unknown user, a mechanism the daemon does not offer, one it offers that this client lacks, plain
 * TCP (where the daemon offers only DIGEST-MD5, demanding a security layer; virsh negotiates one, as the oracle
 * shows), no credentials at all, a broken auth.conf (virsh fails on the same file), and the daemon going silent
 * in the middle of the exchange (a unix-socket relay that stops forwarding after SASL_START).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { AuthConfigError, connect, SaslError, TimeoutError, type NodeConnectOptions } from '../../src/index';
import { logMark, loginsSince, sasl, testDir, virshEnv, withEnv, writeAuthConf } from './sasl-peer';

const BOUND = 20_000;

/** Opens, expecting failure within the bound; returns the error after checking no secret is in it. */
async function failure(uri: string, options: NodeConnectOptions, secrets: string[] = []): Promise<Error> {
  const t0 = Date.now();
  const e = await connect(uri, { timeout: BOUND, ...options }).then(
    async (c) => {
      await c.close();
      return null;
    },
    (x: unknown) => x as Error,
  );
  expect(Date.now() - t0).toBeLessThan(BOUND);
  expect(e).toBeInstanceOf(Error);
  for (const s of [...secrets, ...Object.values(sasl().users).map((u) => u.password)]) {
    for (let c: unknown = e; c instanceof Error; c = c.cause) expect(`${c.message}\n${c.stack}`).not.toContain(s);
  }
  return e!;
}

const code = (e: Error) => (e as SaslError).code;
const home = () => withEnv({ HOME: testDir('home') });

test('a wrong password: ERR_SASL_REJECTED over TLS and unix, the daemon accepting nobody', async () => {
  const alice = sasl().users.alice;
  const wrong = `${alice.password}-wrong`;
  const mark = logMark();
  for (const uri of [sasl().tlsUri, sasl().unixUri]) {
    const e = await failure(uri, { env: home(), credentials: (r) => (r.type === 'sasl-authname' ? 'alice' : wrong) }, [wrong]);
    expect(e).toBeInstanceOf(SaslError);
    expect(code(e)).toBe('ERR_SASL_REJECTED');
    expect(e.message).toMatch(/'alice' \(SCRAM-SHA-256\)/);
  }
  expect(loginsSince(mark)).toEqual([
    { fd: expect.any(Number), mechanism: 'SCRAM-SHA-256' },
    { fd: expect.any(Number), mechanism: 'SCRAM-SHA-256' },
  ]);
});

test('an unknown user, with each mechanism: ERR_SASL_REJECTED', async () => {
  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']) {
    const e = await failure(`${sasl().unixUri}&auth=sasl.${mech}`, { env: home(), credentials: (r) => (r.type === 'sasl-authname' ? 'mallory' : 'guess') });
    expect([code(e), e.message]).toEqual(['ERR_SASL_REJECTED', expect.stringContaining(`'mallory' (${mech})`)]);
  }
});

test('a mechanism the daemon does not offer, and one it offers that this client lacks', async () => {
  const env = withEnv({ LIBVIRT_AUTH_FILE: sasl().authFile });
  const notOffered = await failure(`${sasl().tlsUri}&auth=sasl.GSSAPI`, { env }) as SaslError;
  expect(notOffered.code).toBe('ERR_SASL_MECHANISM_NOT_OFFERED');
  expect(notOffered.offered).toEqual(sasl().mechanisms);
  const lacking = await failure(`${sasl().unixUri}&auth=sasl.DIGEST-MD5`, { env }) as SaslError;
  expect(lacking.code).toBe('ERR_SASL_MECHANISM_UNSUPPORTED');
  expect(lacking.message).toContain('DIGEST-MD5');
  // virsh is refused the unoffered mechanism too.
  const v = await virshEnv(`${sasl().tlsUri}&auth=sasl.GSSAPI`, ['uri'], env);
  expect(v.code).not.toBe(0);
  expect(v.stderr).toMatch(/GSSAPI not supported by server/);
});

test('plain TCP: the daemon offers only DIGEST-MD5 (a security layer); refused with the reason, while virsh negotiates SSF 128', async () => {
  const env = withEnv({ LIBVIRT_AUTH_FILE: sasl().authFile });
  const e = await failure(sasl().tcpUri, { env }) as SaslError;
  expect(e.code).toBe('ERR_SASL_INSECURE_CHANNEL');
  expect(e.offered).toEqual(['DIGEST-MD5']);
  expect(e.message).toMatch(/SSF/);
  expect(e.message).toMatch(/TLS/);
  expect(code(await failure(`${sasl().tcpUri}?auth=sasl.PLAIN`, { env }))).toBe('ERR_SASL_INSECURE_CHANNEL');
  const mark = logMark();
  const v = await virshEnv(sasl().tcpUri, ['uri'], env);
  expect([v.code, v.stderr]).toEqual([0, '']);
  expect(loginsSince(mark)).toEqual([{ fd: expect.any(Number), mechanism: 'DIGEST-MD5', username: 'alice', ssf: 128 }]);
});

test('a password SASLprep changes: Cyrus applies no SASLprep, so SCRAM is refused with a hint, while PLAIN and virsh pass', async () => {
  const dir = testDir('eve');
  const env = withEnv({ LIBVIRT_AUTH_FILE: writeAuthConf(path.join(dir, 'auth.conf'), sasl().users.eve, 'localhost') });
  const e = await failure(sasl().unixUri, { env }) as SaslError;
  expect(e.code).toBe('ERR_SASL_REJECTED');
  expect(e.message).toMatch(/SASLprep \(RFC 4013\) changed this password, and Cyrus SASL, which libvirt uses, does not apply it/);
  const plain = await connect(`${sasl().unixUri}&auth=sasl.PLAIN`, { env, timeout: BOUND });
  await plain.close();
  const mark = logMark();
  expect((await virshEnv(sasl().unixUri, ['uri'], env)).code).toBe(0);
  expect(loginsSince(mark)).toEqual([{ fd: expect.any(Number), mechanism: 'SCRAM-SHA-256', username: 'eve' }]);
});

test('no credentials anywhere and no callback: ERR_SASL_NO_CREDENTIALS, nothing sent to the daemon', async () => {
  const mark = logMark();
  const e = await failure(sasl().unixUri, { env: home() });
  expect(code(e)).toBe('ERR_SASL_NO_CREDENTIALS');
  expect(e.message).toMatch(/no auth.conf was found/);
  expect(loginsSince(mark)).toEqual([]);
});

test('a broken auth.conf: AuthConfigError naming the file and line; virsh fails on it too', async () => {
  const dir = testDir('broken');
  const file = path.join(dir, 'auth.conf');
  const alice = sasl().users.alice;
  writeAuthConf(file, alice, 'localhost');
  fs.appendFileSync(file, `this line is wrong ${alice.password}\n`);
  const e = await failure(sasl().unixUri, { env: withEnv({ LIBVIRT_AUTH_FILE: file }) });
  expect(e).toBeInstanceOf(AuthConfigError);
  expect(e.message).toBe(`${file}:6: the line is neither a group header, a key=value pair nor a comment`);
  expect((await virshEnv(sasl().unixUri, ['uri'], withEnv({ LIBVIRT_AUTH_FILE: file }))).code).not.toBe(0);
  const missing = await failure(sasl().unixUri, { env: withEnv({ LIBVIRT_AUTH_FILE: path.join(dir, 'none.conf') }) });
  expect(missing).toBeInstanceOf(AuthConfigError);
  expect(missing.message).toMatch(/ENOENT/);
});

/**
 * A relay in front of the SASL daemon's socket that forwards whole frames from the client until it has passed
 * one of procedure `stopAfter`; from then on it swallows the client's bytes: the daemon never hears the rest.
 */
async function stallingRelay(dir: string, stopAfter: number): Promise<{ socket: string; close(): Promise<void> }> {
  const socket = path.join(dir, 'relay.sock');
  const conns = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const daemon = net.connect(sasl().unixSocket);
    conns.add(client).add(daemon);
    daemon.pipe(client);
    let buf = Buffer.alloc(0);
    let stalled = false;
    client.on('data', (d: Buffer) => {
      if (stalled) return;
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        daemon.write(buf.subarray(0, len));
        const proc = buf.readInt32BE(12);
        buf = buf.subarray(len);
        if (proc === stopAfter) {
          stalled = true;
          return;
        }
      }
    });
    for (const s of [client, daemon]) s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    close: () => new Promise<void>((resolve) => {
      for (const c of conns) c.destroy();
      server.close(() => resolve());
    }),
  };
}

test('a daemon that goes silent mid-exchange: TimeoutError at the open\'s bound', async () => {
  const dir = testDir('stall');
  const env = withEnv({ LIBVIRT_AUTH_FILE: sasl().authFile });
  // After SASL_START the proof never reaches the daemon; after SASL_STEP, CONNECT_OPEN never does.
  for (const proc of [68, 69]) {
    const relay = await stallingRelay(dir, proc);
    try {
      const t0 = Date.now();
      const e = await connect(`qemu+unix:///session?socket=${relay.socket}`, { env, timeout: 2000 }).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(TimeoutError);
      expect(Date.now() - t0).toBeLessThan(BOUND);
    } finally {
      await relay.close();
    }
  }
});

/**
 * Observability against the sandbox's real daemon.
 *
 * - diagnostics_channel: every call of a real connection (the open's own calls included) is published as
 *   `libvirt-rpc:call:start` and then exactly one of `:end` or `:error`, with the connection, program, procedure,
 *   serial, sizes and a duration, and nothing else: calls whose arguments carry a recognisable secret (a secret's
 *   value, its description) never put it in a published message.
 * - NODE_DEBUG=libvirt-rpc: the connection's life (transport, open, authentication offered and used, the SSH
 *   authentication steps, keepalive PINGs, the close reason) is written to stderr, without the SSH key's
 *   passphrase; without NODE_DEBUG nothing is written. Run in child processes, since Node reads NODE_DEBUG once.
 */
import { spawn } from 'node:child_process';
import * as dc from 'node:diagnostics_channel';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { CHANNELS, connect, RemoteError, type Connect } from '../../src/index';
import { sandbox } from '../helpers/sandbox';

const SECRET = 'hunter2-lvrpc-S3CR3T-8d41c0';
const SECRET_USAGE = `/tmp/lvrpc-diag-${process.pid}.img`;
const ALLOWED_KEYS = new Set(['connectionId', 'program', 'procedure', 'serial', 'requestBytes', 'durationMs', 'replyBytes', 'error']);

type Published = { channel: string; message: Record<string, unknown> };

/** Everything published on the three channels while `fn` runs. */
async function recording(fn: () => Promise<void>): Promise<Published[]> {
  const seen: Published[] = [];
  const subscribers = Object.values(CHANNELS).map((channel) => {
    const onMessage = (message: unknown) => seen.push({ channel, message: message as Record<string, unknown> });
    dc.subscribe(channel, onMessage);
    return () => dc.unsubscribe(channel, onMessage);
  });
  try {
    await fn();
  } finally {
    for (const unsubscribe of subscribers) unsubscribe();
  }
  return seen;
}

describe('diagnostics_channel', () => {
  let published: Published[];
  let conn: Connect | undefined;
  let failure: unknown;

  beforeAll(async () => {
    published = await recording(async () => {
      conn = await connect(sandbox().unixUri);
      const { secret } = await conn.raw.remote.secretDefineXml({
        xml: `<secret ephemeral='yes' private='yes'><description>${SECRET}</description><usage type='volume'><volume>${SECRET_USAGE}</volume></usage></secret>`,
        flags: 0,
      });
      try {
        await conn.raw.remote.secretSetValue({ secret, value: new TextEncoder().encode(SECRET), flags: 0 });
        // The same value for a secret that does not exist: the daemon refuses it, naming the UUID only.
        const missing = { ...secret, uuid: new Uint8Array(16).fill(0x5a) };
        failure = await conn.raw.remote.secretSetValue({ secret: missing, value: new TextEncoder().encode(SECRET), flags: 0 }).catch((e: unknown) => e);
      } finally {
        await conn.raw.remote.secretUndefine({ secret });
      }
      await conn.close();
    });
  }, 60_000);

  afterAll(async () => {
    await conn?.close().catch(() => undefined);
  });

  test('every call has one start and then one end or error, with the same serial, and a duration', () => {
    expect(failure).toBeInstanceOf(RemoteError);
    const starts = published.filter((p) => p.channel === CHANNELS.callStart).map((p) => p.message);
    const finished = published.filter((p) => p.channel !== CHANNELS.callStart);
    const procedures = starts.map((m) => m.procedure);
    // The open's pipelined calls, then ours, then the close.
    expect(procedures).toEqual(expect.arrayContaining([
      'REMOTE_PROC_AUTH_LIST', 'REMOTE_PROC_CONNECT_OPEN', 'REMOTE_PROC_SECRET_DEFINE_XML', 'REMOTE_PROC_SECRET_SET_VALUE',
      'REMOTE_PROC_SECRET_UNDEFINE', 'REMOTE_PROC_CONNECT_CLOSE',
    ]));
    expect(finished).toHaveLength(starts.length);
    for (const start of starts) {
      expect(start).toEqual({
        connectionId: expect.any(Number), program: 'REMOTE', procedure: expect.stringMatching(/^REMOTE_PROC_/),
        serial: expect.any(Number), requestBytes: expect.any(Number),
      });
      expect(start.requestBytes).toBeGreaterThanOrEqual(28); // the header alone is 28 bytes
      const ends = finished.filter((p) => p.message.serial === start.serial && p.message.connectionId === start.connectionId);
      expect(ends).toHaveLength(1);
      const end = ends[0]!.message;
      expect(end.procedure).toBe(start.procedure);
      expect(end.durationMs).toEqual(expect.any(Number));
      expect(Number.isFinite(end.durationMs) && (end.durationMs as number) >= 0).toBe(true);
      // A start is published before its end.
      expect(published.findIndex((p) => p.message === start)).toBeLessThan(published.indexOf(ends[0]!));
    }
  });

  test('the failed call is published on :error with the daemon\'s error; the others on :end with reply sizes', () => {
    const errors = published.filter((p) => p.channel === CHANNELS.callError).map((p) => p.message);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.procedure).toBe('REMOTE_PROC_SECRET_SET_VALUE');
    expect(errors[0]!.error).toBe(failure);
    const ends = published.filter((p) => p.channel === CHANNELS.callEnd).map((p) => p.message);
    for (const end of ends) expect(end.replyBytes).toEqual(expect.any(Number));
    // SECRET_DEFINE_XML's reply holds the new secret's handle; SET_VALUE's holds nothing.
    expect(ends.find((m) => m.procedure === 'REMOTE_PROC_SECRET_DEFINE_XML')!.replyBytes).toBeGreaterThan(16);
  });

  test('no argument value reaches a published message', () => {
    for (const { message } of published) {
      for (const key of Object.keys(message)) expect(ALLOWED_KEYS.has(key)).toBe(true);
    }
    // Deep renderings, the error (message, stack, cause, the daemon's remote_error) included.
    const text = inspect(published, { depth: 20, showHidden: true, maxStringLength: null, maxArrayLength: null }) +
      JSON.stringify(published, (_k, v: unknown) => (v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v));
    expect(text).toContain('REMOTE_PROC_SECRET_SET_VALUE'); // the rendering did see the messages
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET_USAGE);
    expect(text).not.toContain(Buffer.from(SECRET).toString('hex'));
  });

  test('with no subscriber nothing is published, and calls still work', async () => {
    const c = await connect(sandbox().unixUri);
    try {
      expect(dc.channel(CHANNELS.callStart).hasSubscribers).toBe(false);
      expect(await c.getLibVersion()).toBe(9_000_000);
    } finally {
      await c.close();
    }
  });
});

const ROOT = path.resolve(__dirname, '../..');

/** Runs test/helpers/debug-child.ts with `env` added; resolves with its exit code and stderr. */
function runChild(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/ts-run.cjs'), path.join(ROOT, 'test/helpers/debug-child.ts')], {
      env: { ...process.env, NODE_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('NODE_DEBUG=libvirt-rpc', () => {
  test('logs the transport, the open, authentication, SSH auth steps, keepalive and the close reason; no secret', async () => {
    const sb = sandbox();
    const { code, stderr, stdout } = await runChild({
      NODE_DEBUG: 'libvirt-rpc',
      DEBUG_CHILD_UNIX_URI: sb.unixUri,
      DEBUG_CHILD_SSH_URI: `${sb.ssh.uri}?keyfile=${sb.ssh.encryptedKeyFile}&known_hosts=${sb.ssh.knownHosts}`,
      DEBUG_CHILD_PASSPHRASE: sb.ssh.passphrase,
    });
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'done\n' });
    const lines = stderr.split('\n').filter((l) => /^LIBVIRT-RPC \d+: /.test(l));
    const log = lines.join('\n');
    for (const expected of [
      /transport: opening unix to \/.*libvirt-sock/,
      /transport: unix:.* open after \d+ ms/,
      /connection \d+: opening over unix:/,
      /connection \d+: the daemon offers authentication none/,
      /connection \d+: open \(keepalive supported by the daemon\)/,
      /connection \d+: keepalive PING 1\/5 after \d+ ms of silence/,
      /connection \d+: closed \(closed\)/,
      /transport: opening ssh to 127\.0\.0\.1:\d+/,
      /ssh: opening ssh:/,
      /ssh auth: trying .*privkey/,
      /ssh: authenticated as /,
      /transport: ssh:.* open after \d+ ms/,
      /transport: opening unix to \/nonexistent\/libvirt-sock failed after \d+ ms: cannot connect/,
    ]) {
      expect(log).toMatch(expected);
    }
    expect(stderr).not.toContain(sb.ssh.passphrase);
  }, 150_000);

  test('without NODE_DEBUG nothing is logged', async () => {
    const sb = sandbox();
    const { code, stderr } = await runChild({ DEBUG_CHILD_UNIX_URI: sb.unixUri });
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/LIBVIRT-RPC/);
  }, 150_000);
});

/**
 * An in-process SSH server (ssh2's Server on loopback) for the SSH transport's unit tests: it checks passwords,
 * keyboard-interactive answers and public keys itself (the sandbox's unprivileged sshd cannot check passwords),
 * records what the client tried, and runs a scripted handler for exec and stream-local channels.
 */
import * as net from 'node:net';
import { AgentProtocol, Server, utils, type AuthContext, type Connection, type ParsedKey, type ServerChannel } from 'ssh2';
import { fingerprintSha256 } from '../../src/transport/known-hosts';

/** A generated key pair: private key text (OpenSSH format) and the public blob. */
export interface TestKey {
  private: string;
  blob: Buffer;
  /** `type base64`, as in known_hosts and authorized_keys. */
  line: string;
  parsed: ParsedKey;
}

/** Makes a key pair, optionally encrypted with `passphrase` (OpenSSH format, bcrypt KDF, as ssh-keygen makes). */
export function makeKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519', passphrase?: string): TestKey {
  const opts: Record<string, unknown> = type === 'rsa' ? { bits: 2048 } : type === 'ecdsa' ? { bits: 256 } : {};
  if (passphrase !== undefined) Object.assign(opts, { passphrase, cipher: 'aes256-ctr', rounds: 4 });
  // ssh2 1.17's generator drops a leading zero byte of an ed25519 public key (about 1 key in 200), making a key
  // nothing can parse: generate again until both halves parse.
  for (let i = 0; ; i++) {
    const pair = utils.generateKeyPairSync(type as 'ed25519', opts as never);
    const parsed = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private, passphrase);
    if (parsed instanceof Error || priv instanceof Error) {
      if (i < 20) continue;
      throw parsed instanceof Error ? parsed : priv;
    }
    const blob = parsed.getPublicSSH();
    return { private: pair.private, blob, line: `${parsed.type} ${blob.toString('base64')}`, parsed };
  }
}

/** What one channel request asked for. */
export type ChannelRequest = { kind: 'exec'; command: string } | { kind: 'streamlocal'; socketPath: string };

/** Options of {@link startSshServer}. */
export interface SshServerOptions {
  /** Host keys (default: one new ed25519 key). */
  hostKeys?: TestKey[];
  /** The only user name accepted. */
  user?: string;
  password?: string;
  /** Public keys accepted. */
  authorizedKeys?: TestKey[];
  /** Keyboard-interactive prompts and the answers that pass. */
  keyboard?: { prompts: { prompt: string; echo: boolean }[]; answers: string[] };
  /** The methods advertised (default: those configured). */
  methods?: ('password' | 'publickey' | 'keyboard-interactive')[];
  /** Accept `none` (no authentication at all). */
  acceptNone?: boolean;
  /** Handles an accepted channel; default: echo every byte back. */
  onChannel?: (request: ChannelRequest, channel: ServerChannel) => void;
  /** Refuse stream-local channels. */
  refuseStreamLocal?: boolean;
}

/** A running server. */
export interface SshServer {
  port: number;
  hostKeys: TestKey[];
  /** `SHA256:...` of the first host key. */
  fingerprint: string;
  /** Every authentication attempt: method, and for publickey whether it was signed. Never the secret itself. */
  attempts: { method: string; signed?: boolean; ok: boolean }[];
  requests: ChannelRequest[];
  /** Events in order: 'channel-close', 'connection-end', ... */
  events: string[];
  close(): Promise<void>;
}

/** Starts an SSH server on 127.0.0.1 with a free port. */
export async function startSshServer(options: SshServerOptions = {}): Promise<SshServer> {
  const hostKeys = options.hostKeys ?? [makeKey('ed25519')];
  const user = options.user ?? 'tester';
  const methods = options.methods ?? [
    ...(options.authorizedKeys ? ['publickey' as const] : []),
    ...(options.password !== undefined ? ['password' as const] : []),
    ...(options.keyboard ? ['keyboard-interactive' as const] : []),
  ];
  const attempts: SshServer['attempts'] = [];
  const requests: ChannelRequest[] = [];
  const events: string[] = [];
  const connections = new Set<Connection>();
  const onChannel = options.onChannel ?? ((_r, ch) => ch.pipe(ch));

  const server = new Server({ hostKeys: hostKeys.map((k) => k.private) }, (conn) => {
    connections.add(conn);
    conn.on('error', () => undefined);
    conn.on('end', () => events.push('connection-end'));
    conn.on('close', () => {
      events.push('connection-close');
      connections.delete(conn);
    });
    conn.on('authentication', (ctx: AuthContext) => {
      const record = (ok: boolean, signed?: boolean) => attempts.push({ method: ctx.method, ok, ...(signed !== undefined ? { signed } : {}) });
      const reject = () => ctx.reject(methods);
      if (ctx.username !== user) {
        record(false);
        return reject();
      }
      switch (ctx.method) {
        case 'none':
          record(options.acceptNone === true);
          return options.acceptNone ? ctx.accept() : reject();
        case 'password':
          record(ctx.password === options.password);
          return methods.includes('password') && ctx.password === options.password ? ctx.accept() : reject();
        case 'publickey': {
          const key = (options.authorizedKeys ?? []).find((k) => k.blob.equals(ctx.key.data));
          if (!key || !methods.includes('publickey')) {
            record(false, ctx.signature !== undefined);
            return reject();
          }
          if (ctx.signature === undefined) {
            record(true, false);
            return ctx.accept(); // "this key would do": the client signs next
          }
          const ok = key.parsed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo);
          record(ok, true);
          return ok ? ctx.accept() : reject();
        }
        case 'keyboard-interactive': {
          const kb = options.keyboard;
          if (!kb || !methods.includes('keyboard-interactive')) {
            record(false);
            return reject();
          }
          ctx.prompt(kb.prompts, 'Test login', 'Answer the questions', (answers) => {
            const ok = answers.length === kb.answers.length && answers.every((a, i) => a === kb.answers[i]);
            record(ok);
            if (ok) ctx.accept();
            else reject();
          });
          return;
        }
        default:
          record(false);
          return reject();
      }
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const request: ChannelRequest = { kind: 'exec', command: info.command };
          requests.push(request);
          const channel = acceptExec();
          channel.on('close', () => events.push('channel-close'));
          onChannel(request, channel);
        });
      });
      conn.on('openssh.streamlocal', (accept, reject, info) => {
        const request: ChannelRequest = { kind: 'streamlocal', socketPath: info.socketPath };
        requests.push(request);
        if (options.refuseStreamLocal) return reject();
        const channel = accept();
        channel.on('close', () => events.push('channel-close'));
        onChannel(request, channel);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, hostKeys, fingerprint: fingerprintSha256(hostKeys[0].blob), attempts, requests, events,
    close: () => new Promise<void>((resolve) => {
      for (const c of connections) c.end();
      server.close(() => resolve());
    }),
  };
}

/** A TCP server that runs `behave` on each connection (to play a broken SSH server). */
export async function startRawServer(behave: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    behave(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A stand-in ssh-agent on a unix socket holding `keys`; counts the signatures it made. */
export async function startAgent(socketPath: string, keys: TestKey[]): Promise<{ signatures: number; close(): Promise<void> }> {
  const state = { signatures: 0 };
  const privates = keys.map((k) => {
    const parsed = utils.parseKey(k.private);
    if (parsed instanceof Error) throw parsed;
    return parsed;
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    const proto = new AgentProtocol(false);
    proto.on('identities', (req) => proto.getIdentitiesReply(req, keys.map((k) => k.parsed)));
    proto.on('sign', (req, pubKey, data, options) => {
      const key = privates.find((p) => p.getPublicSSH().equals(pubKey.getPublicSSH()));
      if (!key) return proto.failureReply(req);
      state.signatures++;
      proto.signReply(req, key.sign(data, options?.hash));
    });
    sock.pipe(proto).pipe(sock);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return Object.assign(state, {
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  });
}

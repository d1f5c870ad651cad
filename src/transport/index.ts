/**
 * Turns a libvirt URI into an open byte pipe for the RPC engine: unix socket, TCP, TLS, or SSH (the SSH transport
 * lives in ./ssh.ts and is loaded only when an SSH URI is opened). Node-only: the engine itself never imports this.
 */

import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { AbortError, InvalidArgumentError, TimeoutError, TransportError } from '../errors.js';
import { debug } from '../protocol/observe.js';
import type { Transport } from '../protocol/transport.js';
import type { SshCredentialsCallback } from './ssh-credentials.js';
import { DuplexTransport, fromDuplex } from './node-stream.js';
import { chooseSocket, type SocketChoice } from './socket-paths.js';
import { bounded } from '../protocol/bounded.js';
import { timeoutOption } from '../protocol/durations.js';
import { openTlsTransport } from './tls.js';
import { LIBVIRTD_TCP_PORT, LIBVIRTD_TLS_PORT, resolveUri, type LibvirtUri } from './uri.js';

export * from './uri.js';
export * from './socket-paths.js';
export { DuplexTransport, fromDuplex } from './node-stream.js';
export { TlsError, locateTlsCredentials, openTlsTransport } from './tls.js';
export { checkTimeout } from '../protocol/durations.js';
export { SshError } from './ssh-errors.js';
export type { SshErrorCode } from './ssh-errors.js';
export type {
  SshCredentialsCallback,
  SshCredentialRequest,
  SshCredentialAnswer,
  SshPassphraseRequest,
  SshPasswordRequest,
  SshKeyboardInteractiveRequest,
  SshHostKeyRequest,
} from './ssh-credentials.js';
export type { TlsErrorCode, TlsCredentialPaths, TlsTransportOptions } from './tls.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Size of the read buffer of unix and TCP sockets. */
const READ_BUFFER_BYTES = 256 * 1024; // shared by all connections, so a large reply (a list of 5,000 names) comes in one read

/**
 * One read buffer for every unix and TCP connection. Node fills it and calls the socket's `onread` callback
 * synchronously, and the engine copies whatever it keeps past that call (a partial frame, a stream's data),
 * so connections never see each other's bytes. A buffer per connection was 64 KiB of external memory for
 * each open, enough to set off full garbage collections when connections come and go. A view of the bytes
 * read is made straight over the ArrayBuffer: `buffer.subarray()` would read the Buffer's `.buffer`, a call
 * into the runtime on every read.
 */
const SHARED_READ = /* @__PURE__ */ (() => {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return { buffer, bytes: buffer.buffer, base: buffer.byteOffset };
})();

/** Default bound on opening a transport (connect, handshakes), in ms. */
export const DEFAULT_OPEN_TIMEOUT_MS = 30_000;

/** Options of {@link openTransport}. */
export interface OpenTransportOptions {
  /** Environment for LIBVIRT_DEFAULT_URI, XDG_* and HOME; defaults to `process.env`. */
  env?: Env;
  /** Bound on the whole opening, in ms (default {@link DEFAULT_OPEN_TIMEOUT_MS}). */
  timeout?: number;
  signal?: AbortSignal;
  /** A read-only connection: system URIs use the daemon's `-sock-ro` socket, as libvirt does. */
  readOnly?: boolean;
  /** SSH only: answers key passphrases, passwords, keyboard-interactive prompts and new-host-key questions. */
  credentials?: SshCredentialsCallback;
  /** A pipe the caller opened (a Transport or any Node Duplex); used instead of what the URI names. */
  transport?: Transport | Duplex;
  /** Effective uid (root uses system paths only); defaults to `process.geteuid()`. */
  uid?: number;
  /** Home folder when `HOME` is unset; defaults to the password database's. */
  homeDir?: string;
  /** Existence test for sockets and credential files; defaults to `fs.existsSync`. */
  exists?: (path: string) => boolean;
}

/** Options handed to ./ssh.ts's `openSshTransport`, with every default already filled in. */
export interface SshTransportOptions {
  env: Env;
  timeout: number;
  signal?: AbortSignal;
  readOnly: boolean;
  uid: number;
  homeDir?: string;
  exists: (path: string) => boolean;
  /** SSH only: answers key passphrases, passwords, keyboard-interactive prompts and new-host-key questions. */
  credentials?: SshCredentialsCallback;
  /** Lines of the connection-life debug log (host keys, authentication steps); never secrets. */
  debug?: (line: string) => void;
}

/** What ./ssh.ts exports; it is loaded lazily so that this module compiles and runs without it. */
export interface SshTransportModule {
  openSshTransport(uri: LibvirtUri, options: SshTransportOptions): Promise<Transport>;
}

/**
 * Opens the pipe a URI names. `uri` may be a string, a parsed URI, or null/empty for the default
 * (`LIBVIRT_DEFAULT_URI`, else the local daemon, which then picks a driver). Rejects with {@link UriError},
 * {@link TransportError} (or its {@link TlsError}), {@link TimeoutError} or {@link AbortError}.
 */
export async function openTransport(
  uri: string | LibvirtUri | null | undefined,
  options: OpenTransportOptions = {},
): Promise<Transport> {
  if (options.transport !== undefined) return ownTransport(options.transport);
  if (options.signal?.aborted) throw new AbortError('opening the transport was aborted', { cause: options.signal.reason });
  const env = options.env ?? process.env;
  const timeout = timeoutOption(options.timeout, DEFAULT_OPEN_TIMEOUT_MS);
  const uid = options.uid ?? (typeof process.geteuid === 'function' ? process.geteuid() : 0);
  // The password database is only the fallback for an unset HOME: no lookup (a syscall and nsswitch) otherwise.
  const homeDir = options.homeDir ?? (env.HOME ? undefined : passwdHome());
  const exists = options.exists ?? existsSync;
  const parsed = resolveUri(uri, env);
  const transport = parsed === null ? 'unix' : parsed.transport;
  // The debug log names the kind of pipe and where it goes, never the whole URI.
  const where = transport === 'unix' ? (parsed?.remote.socket ?? 'the default socket') : `${parsed?.host ?? 'localhost'}${parsed?.port ? `:${parsed.port}` : ''}`;
  debug(() => `transport: opening ${transport} to ${where}`);
  const t0 = Date.now();
  try {
    const opened = await openKind(transport, parsed, options, { env, timeout, uid, homeDir, exists });
    debug(() => `transport: ${opened.description} open after ${Date.now() - t0} ms`);
    return opened;
  } catch (e) {
    debug(() => `transport: opening ${transport} to ${where} failed after ${Date.now() - t0} ms: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  }
}

interface OpenDefaults {
  env: Env;
  timeout: number;
  uid: number;
  homeDir: string | undefined;
  exists: (path: string) => boolean;
}

async function openKind(
  transport: LibvirtUri['transport'],
  parsed: LibvirtUri | null,
  options: OpenTransportOptions,
  { env, timeout, uid, homeDir, exists }: OpenDefaults,
): Promise<Transport> {
  switch (transport) {
    case 'unix': {
      const choice = chooseSocket({ uri: parsed, readOnly: options.readOnly, env, exists, uid, homeDir });
      return connectSocket({ path: choice.path }, `unix:${choice.path}`, timeout, options.signal, choice);
    }
    case 'tcp': {
      // doRemoteOpen: no host means localhost.
      const host = parsed!.host ?? 'localhost';
      const port = parsed!.port ?? LIBVIRTD_TCP_PORT;
      // Small RPC frames should not wait for Nagle's algorithm.
      return connectSocket({ host, port, noDelay: true }, `tcp:${hostPort(host, port)}`, timeout, options.signal);
    }
    case 'tls':
      return openTlsTransport({
        host: parsed!.host ?? 'localhost',
        port: parsed!.port ?? LIBVIRTD_TLS_PORT,
        pkipath: parsed!.remote.pkipath,
        noVerify: parsed!.remote.noVerify,
        noSanity: parsed!.remote.noSanity,
        uid, env, homeDir, exists, timeout,
        signal: options.signal,
      });
    case 'ssh':
      return (await loadSsh()).openSshTransport(parsed!, {
        env, timeout, signal: options.signal, readOnly: options.readOnly ?? false, uid, homeDir, exists,
        credentials: options.credentials,
        debug: (line) => debug(() => line),
      });
  }
}

function ownTransport(given: Transport | Duplex): Transport {
  if (typeof (given as Transport).attach === 'function' && typeof (given as Transport).whenWritable === 'function') {
    return given as Transport;
  }
  if (typeof (given as Duplex).pipe === 'function' && typeof (given as Duplex).write === 'function') {
    return fromDuplex(given as Duplex, 'caller-supplied stream');
  }
  throw new InvalidArgumentError('options.transport must be a Transport or a Node Duplex stream');
}

/**
 * Loads ./ssh.js (and with it ssh2) on the first SSH URI only: unix, TCP and TLS users never load ssh2. A
 * dynamic import, so that the ESM and the CommonJS builds both load it (the CommonJS build turns it into a
 * require).
 */
async function loadSsh(): Promise<SshTransportModule> {
  try {
    return (await import('./ssh.js')) as SshTransportModule;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Only the SSH module itself (or ssh2) missing means "not in this build"; anything else is a real failure.
    if ((code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && /[/'"]ssh(?:\.js)?['"]|'ssh2'/.test((err as Error).message)) {
      throw new TransportError('the ssh transport is not available in this installation of libvirt-rpc (is ssh2 installed?)', { cause: err });
    }
    throw err;
  }
}

function passwdHome(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return undefined;
  }
}

function hostPort(host: string, port: number): string {
  return `${net.isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** Connects a unix or TCP socket within `timeout`, with errors that say what to check. */
function connectSocket(
  target: net.NetConnectOpts,
  description: string,
  timeout: number,
  signal: AbortSignal | undefined,
  choice?: SocketChoice,
): Promise<Transport> {
  return bounded<Transport>({
    timeout,
    signal,
    onTimeout: () => new TimeoutError(`${description}: connecting did not finish within ${timeout} ms`),
    onAbort: (reason) => new AbortError(`${description}: connecting was aborted`, { cause: reason }),
  }, (settle) => {
    // Read into one reused buffer (`onread`), skipping the stream machinery: about 5-10% less latency per call
    // in bench:rpc. The engine's frame decoder copies whatever it keeps across reads.
    let transport: DuplexTransport | null = null;
    const onread = {
      buffer: SHARED_READ.buffer,
      callback: (n: number): boolean => {
        transport?.deliver(new Uint8Array(SHARED_READ.bytes, SHARED_READ.base, n));
        return true;
      },
    };
    const socket = net.connect({ ...target, onread } as net.NetConnectOpts);
    const onError = (err: NodeJS.ErrnoException): void => settle.fail(connectError(err, description, choice));
    socket.on('error', onError);
    socket.once('connect', () => {
      // A unix socket (the one kind with a socket choice) is local, so confidential; TCP is not. Both are plain
      // byte streams: the messages of one turn may share a write (never TLS, see write-coalescer.ts).
      transport = new DuplexTransport(socket, description, { externalRead: true, coalesce: true, confidential: choice !== undefined });
      settle.ok(transport);
    });
    settle.finally((err) => {
      socket.removeListener('error', onError);
      if (err === null) return;
      socket.on('error', () => undefined);
      socket.destroy();
    });
  });
}

function connectError(err: NodeJS.ErrnoException, description: string, choice?: SocketChoice): TransportError {
  let hint = '';
  if (choice !== undefined) {
    const who = choice.daemon ?? 'the daemon';
    const how = choice.mode === 'explicit' ? 'given by the socket= parameter'
      : `${choice.session ? 'session' : 'system'} socket of ${who}, mode=${choice.mode}`;
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') hint = ` (${how}): is ${who} running?`;
    else if (err.code === 'EACCES') hint = ` (${how}): permission denied; a read-only connection uses the -ro socket`;
    else hint = ` (${how})`;
  }
  return new TransportError(`cannot connect to ${description}: ${err.code ?? err.message}${hint}`, { cause: err });
}

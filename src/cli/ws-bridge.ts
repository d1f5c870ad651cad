/**
 * `libvirt-rpc ws-bridge --listen 127.0.0.1:PORT --connect URI`: a WebSocket listener in front of a libvirt
 * daemon, for browsers (which cannot open unix sockets, TLS with client certificates, or SSH). Every WebSocket
 * becomes a fresh daemon connection opened with this package's transports. Safe by default: loopback only,
 * a bearer token, an Origin allow-list, optional TLS and read-only forwarding, bounded connections and
 * messages, an access log on stderr without secrets. Runs until SIGINT/SIGTERM.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, WsBridge } from '../node/ws-bridge.js';
import {
  checkListen, generateTokenFile, isLoopback, normalizeOrigin, parseListen, readTokenFile, removeGeneratedToken, type BridgeToken,
} from '../node/ws-bridge-security.js';
import { CliUsageError, type CliArgs, type CliCommand, type CliContext } from './command.js';

/** The address used when `--listen` is not given. */
export const DEFAULT_LISTEN = '127.0.0.1:8765';

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new InvalidArgumentError(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The URI as printed: a password in it (libvirt URIs rarely carry one) is replaced. */
function shownUri(uri: string | null): string {
  if (uri === null) return '(LIBVIRT_DEFAULT_URI or the local daemon)';
  return uri.replace(/^([a-z0-9+.-]+:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

async function run(ctx: CliContext, args: CliArgs): Promise<number> {
  const listen = parseListen(args.string('listen') ?? DEFAULT_LISTEN);
  const allowRemote = args.flag('allow-remote');
  // Checked before anything else is read or written: a wrong address exits at once, having touched nothing.
  checkListen(listen, allowRemote);
  const uri = args.string('connect') ?? ctx.global.uri ?? ctx.env.LIBVIRT_DEFAULT_URI ?? null;
  const origins = args.strings('origin').map(normalizeOrigin);
  const cert = args.string('cert');
  const key = args.string('key');
  if ((cert === undefined) !== (key === undefined)) throw new CliUsageError('--cert and --key go together');
  const tls = cert !== undefined && key !== undefined ? { cert: readPem(cert, 'certificate'), key: readPem(key, 'key') } : undefined;
  const readOnly = args.flag('readonly') || ctx.global.readonly;
  const tokenFile = args.string('token-file');
  const token: BridgeToken = tokenFile !== undefined ? readTokenFile(tokenFile) : generateTokenFile(ctx.env);
  const log = (line: string): void => ctx.stderr.write(`ws-bridge: ${line}\n`);
  let bridge: WsBridge;
  try {
    bridge = await WsBridge.start({
      listen, allowRemote, connect: uri, token: token.token, origins, tls, readOnly,
      maxConnections: args.integer('max-connections'),
      maxMessageBytes: args.integer('max-message'),
      openTimeout: ctx.global.timeout,
      log,
      transportOptions: { env: ctx.env },
    });
  } catch (e) {
    removeGeneratedToken(token);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES') {
      throw new InvalidArgumentError(`cannot listen on ${listen.host}:${listen.port}: ${err.code}`, { cause: e });
    }
    throw e;
  }
  try {
    log(`listening on ${bridge.url} -> ${shownUri(uri)}${readOnly ? ' (read-only)' : ''}`);
    log(`token file ${token.file}${token.generated ? ' (generated, mode 0600; removed when the bridge stops)' : ''}: present it as 'Authorization: Bearer <token>' or as the subprotocol 'bearer.<token>'`);
    log(origins.length ? `browsers allowed from ${origins.join(', ')}` : 'no --origin given: browsers are refused (clients without an Origin header are not)');
    if (!isLoopback(listen.host) && tls === undefined) log('warning: listening beyond loopback without --cert/--key: the token travels in clear text');
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    log('stopping');
    await bridge.close();
  } finally {
    removeGeneratedToken(token);
  }
  return 0;
}

/** The `ws-bridge` command. */
export const wsBridgeCommand: CliCommand = {
  name: 'ws-bridge',
  summary: 'forward WebSockets (browsers) to a libvirt daemon',
  usage: 'ws-bridge [--listen HOST:PORT] [--connect URI] [--token-file FILE] [--origin URL]... [--cert FILE --key FILE] [--readonly] [--allow-remote] [--max-connections N] [--max-message BYTES]',
  description:
    'Listens for WebSockets and forwards each to a fresh connection to the daemon at URI (unix, TCP, TLS or SSH). ' +
    'Clients present the token as `Authorization: Bearer <token>` or as the subprotocol `bearer.<token>` (browsers), ' +
    'and offer the subprotocol `binary`. Runs until SIGINT/SIGTERM; logs every connection on stderr.',
  graceful: true,
  options: [
    { name: 'listen', type: 'string', placeholder: 'host:port', help: `address to listen on (default ${DEFAULT_LISTEN}; loopback only unless --allow-remote)` },
    { name: 'connect', type: 'string', short: 'c', placeholder: 'uri', help: 'daemon URI to forward to (default: the global -c, LIBVIRT_DEFAULT_URI, or the local daemon)' },
    { name: 'token-file', type: 'string', placeholder: 'file', help: 'file holding the bearer token (mode 0600); when not given, one is generated into a new 0600 file whose path is printed' },
    { name: 'origin', type: 'strings', placeholder: 'url', help: 'an Origin allowed to connect, e.g. http://127.0.0.1:8080 (repeatable; browsers with any other are refused)' },
    { name: 'cert', type: 'string', placeholder: 'file', help: 'TLS certificate chain (PEM): serve wss://' },
    { name: 'key', type: 'string', placeholder: 'file', help: 'TLS private key (PEM)' },
    { name: 'readonly', type: 'boolean', help: 'forward only connections opened read-only (VIR_CONNECT_RO)' },
    { name: 'allow-remote', type: 'boolean', help: 'allow a --listen address other than loopback' },
    { name: 'max-connections', type: 'integer', placeholder: 'n', help: `connections forwarded at once (default ${DEFAULT_MAX_CONNECTIONS})` },
    { name: 'max-message', type: 'integer', placeholder: 'bytes', help: `largest message a client may send (default ${DEFAULT_MAX_MESSAGE_BYTES})` },
  ],
  run,
};

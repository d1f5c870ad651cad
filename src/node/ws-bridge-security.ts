/**
 * The checks `libvirt-rpc ws-bridge` makes before anything reaches the daemon: where it may listen, the bearer
 * token (read from a file or generated into one with mode 0600, compared in constant time), and the Origin
 * allow-list. A libvirt connection is root-equivalent on most hosts, so each check fails closed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import { BRIDGE_CLOSE, isBearerToken } from '../protocol/websocket-transport.js';

/** A `--listen` address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** The shortest token accepted from a file (a generated one has 43 characters: 32 random bytes). */
export const MIN_TOKEN_LENGTH = 16;

/** Parses `HOST:PORT` (`[::1]:PORT` for IPv6); port 0 picks a free port. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`--listen wants HOST:PORT (e.g. 127.0.0.1:8765, [::1]:8765), not '${text}'`);
  const host = m[1] ?? m[2];
  if (m[1] !== undefined && isIP(host) !== 6) throw new InvalidArgumentError(`--listen: '${host}' is not an IPv6 address`);
  return { host, port };
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x) or `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.split('.')[0] === '127';
}

/** Refuses a non-loopback address unless `allowRemote`. */
export function checkListen(addr: ListenAddress, allowRemote: boolean): void {
  if (!allowRemote && !isLoopback(addr.host)) {
    throw new InvalidArgumentError(
      `refusing to listen on ${addr.host}: a libvirt connection is root-equivalent, so the bridge listens on loopback only; pass --allow-remote (with --cert/--key) to listen elsewhere`,
    );
  }
}

/** A token and where it is kept. */
export interface BridgeToken {
  token: string;
  file: string;
  /** Whether the bridge made the file (and removes it when it stops). */
  generated: boolean;
}

/**
 * Reads the token from `file`: the first line, trimmed. Refuses a file others can read (as ssh refuses such
 * keys), a token shorter than {@link MIN_TOKEN_LENGTH}, and one that cannot travel as a subprotocol.
 */
export function readTokenFile(file: string): BridgeToken {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new InvalidArgumentError(`the token file ${file} is accessible to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it`);
  }
  const token = text.split('\n')[0].trim();
  if (token.length < MIN_TOKEN_LENGTH) throw new InvalidArgumentError(`the token in ${file} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  if (!isBearerToken(token)) {
    throw new InvalidArgumentError(`the token in ${file} has characters a WebSocket subprotocol cannot carry (use letters, digits, '-' and '_')`);
  }
  return { token, file, generated: false };
}

/**
 * Generates a token (32 random bytes, base64url) into a new private folder (mode 0700) under
 * `$XDG_RUNTIME_DIR` or the system's temporary folder, as a file with mode 0600.
 */
export function generateTokenFile(env: Readonly<Record<string, string | undefined>> = process.env): BridgeToken {
  const base = env.XDG_RUNTIME_DIR && fs.existsSync(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'libvirt-rpc-ws-bridge-'));
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, 'token');
  const token = randomBytes(32).toString('base64url');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, file, generated: true };
}

/** Removes a generated token file and its folder; leaves a given one alone. */
export function removeGeneratedToken(t: BridgeToken): void {
  if (!t.generated) return;
  fs.rmSync(path.dirname(t.file), { recursive: true, force: true });
}

/** Compares two tokens in time that does not depend on where they differ (both are hashed to 32 bytes first). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Normalizes an origin (`scheme://host[:port]`, default ports dropped, lower case); throws on anything else. */
export function normalizeOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`--origin wants a URL such as http://127.0.0.1:8080, not '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`--origin: only http and https origins, not '${text}'`);
  if (url.pathname !== '/' || url.search || url.hash || url.username) throw new InvalidArgumentError(`--origin: an origin has no path, query or user, as in '${url.origin}'`);
  return url.origin;
}

/** Why a request is refused: the close code and a reason fit for the client and the log (no secrets). */
export interface Refusal {
  code: number;
  reason: string;
}

/** What a request's credentials and origin say. */
export interface RequestCheck {
  /** The token compared against. */
  token: string;
  /** Allowed origins, normalized. A request without an Origin header (not a browser) passes this check. */
  origins: ReadonlySet<string>;
}

/** Checks a WebSocket upgrade request: Origin first, then the bearer token (header or subprotocol). */
export function checkRequest(req: IncomingMessage, check: RequestCheck): Refusal | null {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let normalized: string | null = null;
    try {
      normalized = normalizeOrigin(origin);
    } catch {
      normalized = null;
    }
    if (normalized === null || !check.origins.has(normalized)) {
      return { code: BRIDGE_CLOSE.FORBIDDEN, reason: `origin ${printable(origin, 60)} is not allowed (--origin)` };
    }
  }
  const given = presentedToken(req);
  if (given === null) return { code: BRIDGE_CLOSE.UNAUTHORIZED, reason: 'bearer token missing' };
  if (!tokensEqual(given, check.token)) return { code: BRIDGE_CLOSE.UNAUTHORIZED, reason: 'bearer token wrong' };
  return null;
}

/** The token from `Authorization: Bearer <token>`, else from the first subprotocol `bearer.<token>`. */
export function presentedToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : null;
  }
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith('bearer.'));
  return bearer === undefined ? null : bearer.slice('bearer.'.length);
}

/** `text` cut to `max` characters with anything but printable ASCII replaced: safe in a log line or a reason. */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

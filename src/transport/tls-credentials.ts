/**
 * The client's TLS credentials, as libvirt's client finds and checks them: located as
 * virNetTLSContextLocateCredentials does, checked as virNetTLSContextSanityCheckCredentials does
 * (src/rpc/virnettlscontext.c), and turned into one OpenSSL context per content.
 */

import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as tls from 'node:tls';
import { TlsError } from './tls-errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where libvirt's client looks for its TLS files, and what it tried first. */
export interface TlsCredentialPaths {
  cacert: string;
  cacrl: string;
  cert: string;
  key: string;
  /** Every path considered for each file, in order, for error messages. */
  searched: { cacert: string[]; cert: string[]; key: string[] };
}

const SYSTEM = {
  cacert: '/etc/pki/CA/cacert.pem',
  cacrl: '/etc/pki/CA/cacrl.pem',
  cert: '/etc/pki/libvirt/clientcert.pem',
  key: '/etc/pki/libvirt/private/clientkey.pem',
};

/**
 * virNetTLSContextLocateCredentials for a client: an explicit `pkipath` is used as is, whether or not the files
 * exist; otherwise a non-root user's `$HOME/.pki/libvirt/` is used file by file where files exist (certificate and
 * key only as a pair), and the system locations fill the gaps.
 */
export function locateTlsCredentials(options: {
  pkipath?: string;
  uid: number;
  env: Env;
  homeDir?: string;
  exists?: (path: string) => boolean;
}): TlsCredentialPaths {
  const exists = options.exists ?? existsSync;
  if (options.pkipath !== undefined) {
    const dir = options.pkipath.replace(/\/+$/, '');
    const p = { cacert: `${dir}/cacert.pem`, cacrl: `${dir}/cacrl.pem`, cert: `${dir}/clientcert.pem`, key: `${dir}/clientkey.pem` };
    return { ...p, searched: { cacert: [p.cacert], cert: [p.cert], key: [p.key] } };
  }
  const found: Partial<Record<'cacert' | 'cacrl' | 'cert' | 'key', string>> = {};
  const searched = { cacert: [] as string[], cert: [] as string[], key: [] as string[] };
  const home = options.env['HOME'] || options.homeDir;
  if (options.uid !== 0 && home) {
    const dir = `${home.replace(/\/+$/, '')}/.pki/libvirt`;
    const user = { cacert: `${dir}/cacert.pem`, cacrl: `${dir}/cacrl.pem`, cert: `${dir}/clientcert.pem`, key: `${dir}/clientkey.pem` };
    searched.cacert.push(user.cacert);
    searched.cert.push(user.cert);
    searched.key.push(user.key);
    if (exists(user.cacert)) found.cacert = user.cacert;
    if (exists(user.cacrl)) found.cacrl = user.cacrl;
    if (exists(user.cert) && exists(user.key)) {
      found.cert = user.cert;
      found.key = user.key;
    }
  }
  if (found.cacert === undefined) searched.cacert.push(SYSTEM.cacert);
  if (found.cert === undefined) {
    searched.cert.push(SYSTEM.cert);
    searched.key.push(SYSTEM.key);
  }
  return {
    cacert: found.cacert ?? SYSTEM.cacert,
    cacrl: found.cacrl ?? SYSTEM.cacrl,
    cert: found.cert ?? SYSTEM.cert,
    key: found.key ?? SYSTEM.key,
    searched,
  };
}

/** What {@link loadCredentials} needs to know. */
export interface CredentialOptions {
  pkipath?: string;
  uid: number;
  env: Env;
  homeDir?: string;
  exists?: (path: string) => boolean;
}

/** The credential files' contents, and where they were found. */
export interface LoadedCredentials {
  ca: Buffer;
  crl?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  paths: TlsCredentialPaths;
}

/** Reads the credential files (a missing CA is an error; a missing certificate and key are not). */
export async function loadCredentials(o: CredentialOptions): Promise<LoadedCredentials> {
  const paths = locateTlsCredentials(o);
  const exists = o.exists ?? existsSync;
  // Read synchronously: a few KB from local files, where an asynchronous read is four hand-offs to the thread
  // pool (open, stat, read, close) per file, which on a loaded machine cost more than the read itself.
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new TlsError('ERR_TLS_MISSING_FILE', `TLS ${what} ${path} does not exist`, { cause: err, path });
      }
      throw new TlsError('ERR_TLS_UNREADABLE_FILE', `cannot read TLS ${what} ${path}: ${code ?? (err as Error).message}`, { cause: err, path });
    }
  };
  let ca: Buffer;
  try {
    ca = await read(paths.cacert, 'CA certificate');
  } catch (err) {
    if (err instanceof TlsError && err.code === 'ERR_TLS_MISSING_FILE') {
      const where = paths.searched.cacert.join(', then ');
      throw new TlsError('ERR_TLS_MISSING_FILE',
        `TLS CA certificate not found: looked for ${where}${o.pkipath === undefined ? ' (set pkipath=DIR in the URI to use another folder)' : ''}`,
        { cause: err, path: paths.cacert });
    }
    throw err;
  }
  const out: LoadedCredentials = { ca, paths };
  if (exists(paths.cacrl)) out.crl = await read(paths.cacrl, 'CA revocation list');
  // A client without certificate and key goes on without them, as libvirt does; the daemon decides.
  if (exists(paths.cert) && exists(paths.key)) {
    out.cert = await read(paths.cert, 'client certificate');
    out.key = await read(paths.key, 'client key');
  }
  return out;
}

/**
 * Credentials are re-read from disk on every connect (as libvirt does), but parsing, chain and key checks and the
 * OpenSSL context depend only on the bytes read: they are cached by content, and a cached check still honours
 * the certificates' validity period. A handful of entries: one per PKI folder in use.
 */
const CACHE_LIMIT = 16;
const checkedUntil = new Map<string, { from: number; to: number }>();
const contexts = new Map<string, tls.SecureContext>();

export function credentialsKey(creds: LoadedCredentials): string {
  const parts = [creds.ca, creds.crl, creds.cert, creds.key].map((b) => (b ? b.toString('latin1') : ''));
  return parts.join('\u0000');
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** {@link sanityCheck}, skipped when these exact bytes passed it and their certificates are still in date. */
export function sanityCheckCached(creds: LoadedCredentials, key: string): void {
  const hit = checkedUntil.get(key);
  const now = Date.now();
  if (hit && hit.from <= now && now <= hit.to) return;
  remember(checkedUntil, key, sanityCheck(creds));
}

/**
 * The OpenSSL context for these credentials, built once per content. With `no_sanity=1` nothing has checked the
 * files before this point, so OpenSSL's refusal is turned into a {@link TlsError} naming the file at fault
 * (its own message, kept as the `cause`, quotes no key material).
 */
export function secureContext(creds: LoadedCredentials, key: string): tls.SecureContext {
  let ctx = contexts.get(key);
  if (!ctx) {
    try {
      ctx = tls.createSecureContext(contextOptions(creds));
    } catch (err) {
      throw contextError(creds, err);
    }
    remember(contexts, key, ctx);
  }
  return ctx;
}

function contextOptions(creds: Partial<LoadedCredentials>): tls.SecureContextOptions {
  return {
    ...(creds.ca !== undefined ? { ca: creds.ca } : {}),
    ...(creds.crl ? { crl: creds.crl } : {}),
    ...(creds.cert !== undefined ? { cert: creds.cert, key: creds.key } : {}),
  };
}

/** Which file OpenSSL refused: each is tried alone, then the certificate with its key. */
function contextError(creds: LoadedCredentials, cause: unknown): TlsError {
  const { paths } = creds;
  const refuses = (part: Partial<LoadedCredentials>): boolean => {
    try {
      tls.createSecureContext(contextOptions(part));
      return false;
    } catch {
      return true;
    }
  };
  const bad = (what: string, path: string, why: string) =>
    new TlsError('ERR_TLS_BAD_CREDENTIALS', `TLS ${what} ${path} ${why} (OpenSSL refused it; no_sanity=1 skipped the checks that would say more)`, { cause, path });
  if (refuses({ ca: creds.ca })) return bad('CA certificate', paths.cacert, 'cannot be used');
  if (creds.crl && refuses({ ca: creds.ca, crl: creds.crl })) return bad('CA revocation list', paths.cacrl, 'cannot be used');
  if (creds.cert !== undefined && creds.key !== undefined) {
    if (!canParse(() => new X509Certificate(creds.cert!))) return bad('client certificate', paths.cert, 'cannot be parsed');
    if (!canParse(() => createPrivateKey(creds.key!))) return bad('client key', paths.key, 'cannot be loaded (it must be an unencrypted PEM key)');
    return bad('client key', paths.key, `does not belong to the certificate ${paths.cert}`);
  }
  return bad('credentials in', paths.cacert.replace(/\/[^/]*$/, ''), 'cannot be used');
}

function canParse(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/**
 * virNetTLSContextSanityCheckCredentials, on the points OpenSSL would otherwise only report vaguely. Returns the
 * period in which every certificate checked is valid.
 */
function sanityCheck(creds: LoadedCredentials): { from: number; to: number } {
  const { paths } = creds;
  const bad = (message: string, path: string, cause?: unknown): never => {
    throw new TlsError('ERR_TLS_BAD_CREDENTIALS', message, { cause, path });
  };
  const now = Date.now();
  const period = { from: -Infinity, to: Infinity };
  const blocks = creds.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) bad(`TLS CA certificate ${paths.cacert} contains no PEM certificate`, paths.cacert);
  const cas = blocks.map((pem) => {
    let ca: X509Certificate | undefined;
    try {
      ca = new X509Certificate(pem);
    } catch (err) {
      bad(`TLS CA certificate ${paths.cacert} cannot be parsed`, paths.cacert, err);
    }
    checkTimes(ca!, 'CA certificate', paths.cacert, now, bad);
    period.from = Math.max(period.from, Date.parse(ca!.validFrom));
    period.to = Math.min(period.to, Date.parse(ca!.validTo));
    if (!ca!.ca) bad(`TLS CA certificate ${paths.cacert} (${ca!.subject.replace(/\n/g, ', ')}) is not a CA (basic constraints)`, paths.cacert);
    return ca!;
  });
  if (creds.cert === undefined || creds.key === undefined) return period;
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(creds.cert);
  } catch (err) {
    bad(`TLS client certificate ${paths.cert} cannot be parsed`, paths.cert, err);
  }
  checkTimes(cert!, 'client certificate', paths.cert, now, bad);
  period.from = Math.max(period.from, Date.parse(cert!.validFrom));
  period.to = Math.min(period.to, Date.parse(cert!.validTo));
  if (cert!.ca) bad(`TLS client certificate ${paths.cert} is a CA certificate, not a client one`, paths.cert);
  if (!cas.some((ca) => cert!.checkIssued(ca) && cert!.verify(ca.publicKey))) {
    bad(`TLS client certificate ${paths.cert} was not issued by the CA in ${paths.cacert}`, paths.cert);
  }
  try {
    if (!cert!.checkPrivateKey(createPrivateKey(creds.key))) {
      bad(`TLS client key ${paths.key} does not belong to the certificate ${paths.cert}`, paths.key);
    }
  } catch (err) {
    if (err instanceof TlsError) throw err;
    bad(`TLS client key ${paths.key} cannot be loaded (it must be an unencrypted PEM key)`, paths.key, err);
  }
  return period;
}

function checkTimes(c: X509Certificate, what: string, path: string, now: number, bad: (m: string, p: string) => never): void {
  if (Date.parse(c.validTo) < now) bad(`TLS ${what} ${path} expired on ${c.validTo}`, path);
  if (Date.parse(c.validFrom) > now) bad(`TLS ${what} ${path} is not valid before ${c.validFrom}`, path);
}

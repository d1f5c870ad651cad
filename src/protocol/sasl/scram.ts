/**
 * The client side of SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802), without channel binding, on WebCrypto
 * (`globalThis.crypto.subtle`: Node 20 and browsers), so it runs in the browser-safe core.
 *
 * The exchange, as libvirt's daemon runs it through Cyrus SASL: the client-first message is SASL_START's initial
 * response, the client-final message goes in a SASL_STEP, and the server-final message (`v=`, the server's
 * signature) comes back in that step's reply because both ends ask Cyrus for SASL_SUCCESS_DATA
 * (src/rpc/virnetsaslcontext.c). A server-final that does not carry the right signature is refused: only a
 * server that knows the password (or the salted key derived from it) can compute it.
 */
import { concatBytes } from '../xdr.js';
import { SaslError } from './errors.js';

/** The hash functions of the SCRAM mechanisms this client implements. */
export type ScramHash = 'SHA-256' | 'SHA-1';

/** SCRAM mechanism names and their hash, strongest first. */
export const SCRAM_MECHANISMS: Readonly<Record<string, ScramHash>> = { 'SCRAM-SHA-256': 'SHA-256', 'SCRAM-SHA-1': 'SHA-1' };

/** Iteration counts below this are refused (RFC 5802 section 5.1 and RFC 7677 section 4 ask for at least 4096). */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Iteration counts above this are refused: a server could otherwise make the client compute for hours. */
export const SCRAM_MAX_ITERATIONS = 10_000_000;

const LATIN1 = { encode: (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0)) };
const UTF8 = /* @__PURE__ */ new TextEncoder();
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  return LATIN1.encode(atob(text));
}


type Subtle = typeof globalThis.crypto.subtle;

/**
 * WebCrypto's typings (lib DOM, TypeScript 5.7+) take only ArrayBuffer-backed views; a view of a shared buffer
 * is copied into one. Every view here is ArrayBuffer-backed, so this only narrows the type.
 */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new SaslError('ERR_SASL_PROTOCOL', 'SCRAM needs WebCrypto (globalThis.crypto.subtle), which this environment lacks');
  return s;
}

async function hmac(hash: ScramHash, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', own(key), { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', k, own(data)));
}

/** Constant-time comparison of two byte strings of equal length. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** RFC 5802 section 5.1: `,` and `=` in a user name are written `=2C` and `=3D`. */
function saslname(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** A fresh client nonce: 24 bytes from the platform's CSPRNG, base64 (printable and free of `,`). */
export function scramNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  return toBase64(bytes);
}

/** Splits `a=v,b=w` into attributes in order; values may contain `=`. */
function attributes(message: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of message.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) return null;
    out.push([part[0], part.slice(2)]);
  }
  return out;
}

/** One SCRAM client exchange. Create it, send {@link clientFirst}, answer the server with {@link clientFinal}, check {@link verifyServerFinal}. */
export class ScramClient {
  readonly mechanism: string;
  readonly #hash: ScramHash;
  readonly #bare: string;
  readonly #nonce: string;
  #password: Uint8Array | null;
  #serverSignature: Uint8Array | null = null;
  /** The server's iteration count, once its first message was read. */
  iterations = 0;

  /**
   * @param user the authentication name, already prepared (SASLprep) by the caller
   * @param password the prepared password as UTF-8; the client owns it and zeroes it once used
   * @param nonce the client nonce; tests pass RFC vectors, otherwise {@link scramNonce}
   */
  constructor(mechanism: string, user: string, password: Uint8Array, nonce = scramNonce()) {
    const hash = SCRAM_MECHANISMS[mechanism];
    if (hash === undefined) throw new SaslError('ERR_SASL_MECHANISM_UNSUPPORTED', `${mechanism} is not a SCRAM mechanism this client implements`, { mechanism });
    this.mechanism = mechanism;
    this.#hash = hash;
    this.#nonce = nonce;
    this.#bare = `n=${saslname(user)},r=${nonce}`;
    this.#password = password;
  }

  /** The client-first message: GS2 header `n,,` (no channel binding, no authorization identity), user, nonce. */
  clientFirst(): Uint8Array {
    return UTF8.encode(`n,,${this.#bare}`);
  }

  #fail(what: string): never {
    this.dispose();
    throw new SaslError('ERR_SASL_PROTOCOL', `${this.mechanism}: the daemon's ${what}`, { mechanism: this.mechanism });
  }

  /** Checks the server-first message and computes the client-final message with the proof. */
  async clientFinal(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const password = this.#password;
    if (password === null) throw new SaslError('ERR_SASL_PROTOCOL', `${this.mechanism}: the exchange is already over`, { mechanism: this.mechanism });
    const serverFirst = printable(serverFirstBytes);
    if (serverFirst === null) this.#fail('first message is not printable ASCII');
    const attrs = attributes(serverFirst);
    if (attrs === null) this.#fail('first message is not a list of attributes');
    if (attrs[0][0] === 'm') this.#fail('first message has a mandatory extension (m=) this client does not know');
    if (attrs.length < 3 || attrs[0][0] !== 'r' || attrs[1][0] !== 's' || attrs[2][0] !== 'i') {
      this.#fail('first message does not start with r=, s=, i=');
    }
    const nonce = attrs[0][1];
    // RFC 5802 section 5.1: the server's nonce extends ours; printable characters except ','.
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) this.#fail('nonce does not extend the client nonce');
    const salt = fromBase64(attrs[1][1]);
    if (salt === null || salt.length === 0) this.#fail('salt is not base64');
    if (!/^[1-9][0-9]{0,9}$/.test(attrs[2][1])) this.#fail('iteration count is not a positive number');
    const iterations = Number(attrs[2][1]);
    if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
      this.#fail(`iteration count ${iterations} is outside ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`);
    }
    this.#password = null;
    this.iterations = iterations;
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = UTF8.encode(`${this.#bare},${serverFirst},${withoutProof}`);
    const keyLen = this.#hash === 'SHA-256' ? 256 : 160;
    let salted: Uint8Array | null = null;
    let clientKey: Uint8Array | null = null;
    try {
      const base = await subtle().importKey('raw', own(password), 'PBKDF2', false, ['deriveBits']);
      salted = new Uint8Array(await subtle().deriveBits({ name: 'PBKDF2', hash: this.#hash, salt: own(salt), iterations }, base, keyLen));
      clientKey = await hmac(this.#hash, salted, UTF8.encode('Client Key'));
      const storedKey = new Uint8Array(await subtle().digest(this.#hash, own(clientKey)));
      const clientSignature = await hmac(this.#hash, storedKey, authMessage);
      const proof = clientKey.map((b, i) => b ^ clientSignature[i]);
      const serverKey = await hmac(this.#hash, salted, UTF8.encode('Server Key'));
      this.#serverSignature = await hmac(this.#hash, serverKey, authMessage);
      serverKey.fill(0);
      storedKey.fill(0);
      return concatBytes([UTF8.encode(`${withoutProof},p=`), LATIN1.encode(toBase64(proof))]);
    } finally {
      password.fill(0);
      salted?.fill(0);
      clientKey?.fill(0);
    }
  }

  /**
   * Checks the server-final message. Throws {@link SaslError} `ERR_SASL_SERVER_SIGNATURE` when the signature is
   * wrong or missing, `ERR_SASL_REJECTED` when the server sent `e=` (its reason is quoted: it is a token such as
   * `invalid-proof`, never a secret).
   */
  verifyServerFinal(serverFinalBytes: Uint8Array | null): void {
    const expected = this.#serverSignature;
    this.#serverSignature = null;
    if (expected === null) throw new SaslError('ERR_SASL_PROTOCOL', `${this.mechanism}: no client-final message was sent`, { mechanism: this.mechanism });
    const text = serverFinalBytes === null ? null : printable(serverFinalBytes);
    const attrs = text === null ? null : attributes(text);
    if (attrs !== null && attrs[0][0] === 'e') {
      const reason = attrs[0][1].replace(/[^A-Za-z0-9-]/g, '').slice(0, 64);
      throw new SaslError('ERR_SASL_REJECTED', `${this.mechanism}: the daemon refused the credentials (${reason})`, { mechanism: this.mechanism });
    }
    const given = attrs !== null && attrs[0][0] === 'v' ? fromBase64(attrs[0][1]) : null;
    const ok = given !== null && same(given, expected);
    expected.fill(0);
    if (!ok) {
      throw new SaslError(
        'ERR_SASL_SERVER_SIGNATURE',
        `${this.mechanism}: the daemon accepted the proof but ${given === null ? 'sent no server signature' : 'its server signature is wrong'}, so it has not shown that it knows the password; the connection is refused`,
        { mechanism: this.mechanism },
      );
    }
  }

  /** Zeroes what the exchange still holds (the password when the exchange ended early). */
  dispose(): void {
    this.#password?.fill(0);
    this.#password = null;
    this.#serverSignature?.fill(0);
    this.#serverSignature = null;
  }
}

/** The bytes as a string when all are printable ASCII (what SCRAM's server messages consist of), else null. */
function printable(bytes: Uint8Array): string | null {
  let s = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

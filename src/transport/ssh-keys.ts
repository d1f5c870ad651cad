/**
 * Private key files for SSH public key authentication, handled as libvirt's libssh transport handles them
 * (virNetLibsshAuthenticatePrivkey in src/rpc/virnetlibsshsession.c): the public half is offered first (from
 * `<key>.pub`, or from the unencrypted header of an OpenSSH-format key), and only when the server says it would
 * accept that key is the private half opened, asking for its passphrase if it is encrypted. The key is signed
 * with through an ssh2 agent object, whose `sign()` may wait for the passphrase.
 */

import { readFile } from 'node:fs/promises';
import * as ssh2 from 'ssh2';
import { BaseAgent, type IdentityCallback, type ParsedKey, type SignCallback, type SigningRequestOptions } from 'ssh2';
import { SshError } from './ssh-errors.js';

// ssh2 is CommonJS, and Node's ESM loader does not see its nested `utils` object as a named export (only what
// cjs-module-lexer finds: Client, BaseAgent, ...); the module object itself (`default` under ESM and under
// esModuleInterop) always has it.
const utils = /* @__PURE__ */ (() => ((ssh2 as { default?: typeof ssh2 }).default ?? ssh2).utils)();

/** A private key file that can be offered to the server. */
export interface Identity {
  /** The file's path. */
  readonly file: string;
  /** Whether the URI named it (`keyfile=`), rather than it being a default identity. */
  readonly explicit: boolean;
  /** Whether the key is encrypted with a passphrase. */
  readonly encrypted: boolean;
  /** The public key blob, when known without decrypting. */
  readonly publicKey: Buffer | null;
  /** The file's text (never shown anywhere). */
  readonly text: string;
  /** The parsed private key, for unencrypted keys. */
  readonly privateKey: ParsedKey | null;
}

/** The identity files OpenSSH and libvirt fall back on, in the order tried here. */
export const DEFAULT_IDENTITY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

/**
 * Reads a private key file. An unreadable or unusable file throws {@link SshError} `ERR_SSH_KEY_FILE`. Key
 * material and parser output that could quote it never reach the message.
 */
export async function loadIdentity(file: string, explicit: boolean): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new SshError('ERR_SSH_KEY_FILE', `cannot read SSH key file ${file}: ${code}`, { keyFile: file });
  }
  const parsed = utils.parseKey(text);
  if (!(parsed instanceof Error)) {
    const key = parsed;
    if (!key.isPrivateKey()) {
      throw new SshError('ERR_SSH_KEY_FILE', `SSH key file ${file} holds a public key; keyfile= must name the private key`, { keyFile: file });
    }
    return { file, explicit, encrypted: false, publicKey: key.getPublicSSH(), text, privateKey: key };
  }
  if (!looksEncrypted(text, parsed.message)) {
    throw new SshError('ERR_SSH_KEY_FILE', `SSH key file ${file} is not a private key this client can use (${safeReason(parsed.message)})`, {
      keyFile: file,
    });
  }
  const publicKey = (await publicKeyFromPubFile(`${file}.pub`)) ?? publicKeyFromOpenSshHeader(text);
  return { file, explicit, encrypted: true, publicKey, text, privateKey: null };
}

function looksEncrypted(text: string, message: string): boolean {
  return /passphrase|encrypted/i.test(message) || /Proc-Type: 4,ENCRYPTED|BEGIN ENCRYPTED PRIVATE KEY/.test(text);
}

/** Only ssh2's own fixed wording, never anything that might quote the file. */
function safeReason(message: string): string {
  return /^[\w\s,.'()-]{1,120}$/.test(message) && !message.includes('\n') ? message : 'unsupported key format';
}

async function publicKeyFromPubFile(path: string): Promise<Buffer | null> {
  try {
    const key = utils.parseKey(await readFile(path, 'utf8'));
    if (key instanceof Error) return null;
    return key.getPublicSSH();
  } catch {
    return null;
  }
}

/**
 * The public key of an `openssh-key-v1` file, which is stored unencrypted before the encrypted part (OpenSSH's
 * PROTOCOL.key): magic, cipher name, KDF name, KDF options, key count, then the first public key.
 */
export function publicKeyFromOpenSshHeader(text: string): Buffer | null {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) return null;
  const data = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const magic = Buffer.from('openssh-key-v1\0', 'latin1');
  if (data.length < magic.length || !data.subarray(0, magic.length).equals(magic)) return null;
  let pos = magic.length;
  const str = (): Buffer | null => {
    if (pos + 4 > data.length) return null;
    const len = data.readUInt32BE(pos);
    if (pos + 4 + len > data.length) return null;
    const out = data.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
    return out;
  };
  for (let i = 0; i < 3; i++) if (str() === null) return null; // cipher, kdf, kdf options
  if (pos + 4 > data.length || data.readUInt32BE(pos) < 1) return null;
  pos += 4;
  const key = str();
  if (key === null) return null;
  const parsed = utils.parseKey(key);
  return parsed instanceof Error ? null : Buffer.from(key);
}

/** The outcome of asking for a passphrase: the answer, or null when the user declined. */
export type PassphraseAsker = (attempt: number) => Promise<string | null>;

/** How many passphrases are tried for one key (OpenSSH asks three times too). */
export const PASSPHRASE_ATTEMPTS = 3;

/** Raised when the user declined to give a passphrase: the key is skipped, authentication goes on. */
export class PassphraseDeclined extends Error {}

/**
 * Opens an identity's private key, asking for the passphrase up to {@link PASSPHRASE_ATTEMPTS} times. Throws
 * {@link SshError} `ERR_SSH_PASSPHRASE` when every passphrase was wrong, {@link PassphraseDeclined} when the user
 * gave none.
 */
export async function unlockIdentity(identity: Identity, ask: PassphraseAsker): Promise<ParsedKey> {
  if (identity.privateKey !== null) return identity.privateKey;
  for (let attempt = 1; attempt <= PASSPHRASE_ATTEMPTS; attempt++) {
    const passphrase = await ask(attempt);
    if (passphrase === null) throw new PassphraseDeclined(`no passphrase for ${identity.file}`);
    const parsed = utils.parseKey(identity.text, passphrase);
    if (!(parsed instanceof Error) && parsed.isPrivateKey()) return parsed;
  }
  throw new SshError(
    'ERR_SSH_PASSPHRASE',
    `cannot decrypt SSH key file ${identity.file}: wrong passphrase (${PASSPHRASE_ATTEMPTS} attempts)`,
    { keyFile: identity.file },
  );
}

/**
 * An ssh2 agent serving one key file. ssh2 offers the public key (a query without signature); only when the server
 * answers that it would accept it does ssh2 call {@link sign}, which opens the private key then.
 */
export class KeyFileAgent extends BaseAgent<Buffer> {
  readonly #identity: Identity;
  readonly #unlock: () => Promise<ParsedKey>;
  readonly #onError: (err: unknown) => void;
  #key: Promise<ParsedKey> | null = null;

  /** `unlock` opens the private key; `onError` hears why signing failed (the agent itself only says "failed"). */
  constructor(identity: Identity, unlock: () => Promise<ParsedKey>, onError: (err: unknown) => void) {
    super();
    this.#identity = identity;
    this.#unlock = unlock;
    this.#onError = onError;
  }

  getIdentities(cb: IdentityCallback<Buffer>): void {
    if (this.#identity.publicKey !== null) {
      cb(undefined, [this.#identity.publicKey]);
      return;
    }
    // No public half on disk: the key must be opened first (libvirt does the same without a .pub file).
    this.#privateKey().then(
      (key) => cb(undefined, [key.getPublicSSH()]),
      (err: unknown) => {
        this.#onError(err);
        cb(new Error('the key file could not be opened'));
      },
    );
  }

  sign(pubKey: Buffer, data: Buffer, options: SigningRequestOptions | SignCallback, cb?: SignCallback): void {
    const done = (typeof options === 'function' ? options : cb) ?? (() => undefined);
    const hash = typeof options === 'object' && options !== null ? options.hash : undefined;
    this.#privateKey().then(
      (key) => {
        const signature = key.sign(data, hash);
        if (signature instanceof Error) done(new Error('signing with the key failed'));
        else done(undefined, signature);
      },
      (err: unknown) => {
        this.#onError(err);
        done(new Error('the key file could not be opened'));
      },
    );
  }

  #privateKey(): Promise<ParsedKey> {
    this.#key ??= this.#unlock();
    return this.#key;
  }
}

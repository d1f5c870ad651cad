/**
 * Host key verification for the SSH transport, with libvirt's policies:
 *
 * - `known_hosts_verify=normal` (the default): a known key is accepted; an unknown one is refused, unless the
 *   credentials callback is asked and trusts it, and then it is added to the file (virNetLibsshCheckHostKey).
 * - `known_hosts_verify=auto`: an unknown key is added to the file and accepted; a changed one is refused.
 * - `known_hosts_verify=ignore`: nothing is checked and known_hosts is not read.
 * - `no_verify=1` (the `ssh` transport's parameter; it maps to OpenSSH's `StrictHostKeyChecking=no`): an unknown key
 *   is added and accepted; a changed key is accepted too, but, as OpenSSH does then, password and
 *   keyboard-interactive authentication are disabled so that no secret is sent to a possible impostor.
 *   An explicit `known_hosts_verify` takes precedence over `no_verify`.
 *
 * In every policy but `ignore`, a key marked `@revoked` for the host is refused. While choosing the host key
 * algorithm, the types known_hosts holds for the host are preferred, as OpenSSH does, so that a server with several
 * host keys presents the one that can be checked.
 */

import type { KnownHostsVerify, LibvirtUri } from './uri.js';
import {
  appendKnownHostsLine, checkHostKey, fingerprintSha256, formatKnownHostsLine, keyTypeOf, knownHostName, knownKeyTypes,
  readKnownHostsFile, type KnownHostsEntry,
} from './known-hosts.js';
import { SshError } from './ssh-errors.js';
import type { SshHostKeyRequest } from './ssh-credentials.js';

/** The effective policy: libvirt's three, and `no-verify` for the `ssh` transport's `no_verify=1`. */
export type HostKeyPolicy = KnownHostsVerify | 'no-verify';

/** The policy a URI asks for. */
export function hostKeyPolicy(uri: LibvirtUri): HostKeyPolicy {
  if (uri.remote.knownHostsVerify !== undefined) return uri.remote.knownHostsVerify;
  return uri.remote.noVerify ? 'no-verify' : 'normal';
}

/** The host key algorithms ssh2 can use, in its default order of preference. */
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
] as const;

/** Host key algorithms with those known_hosts can check first (an RSA key serves three signature algorithms). */
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const first = HOST_KEY_ALGORITHMS.filter((a) => knownTypes.includes(a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** Inputs of {@link HostKeyVerifier}. */
export interface HostKeyVerifierOptions {
  policy: HostKeyPolicy;
  host: string;
  port: number;
  /** The file read and written (the `known_hosts` parameter, else `~/.ssh/known_hosts`). */
  knownHostsFile: string;
  /** More files only read (`/etc/ssh/ssh_known_hosts` when no `known_hosts` parameter was given). */
  extraFiles: readonly string[];
  /** Asks whether to trust an unknown key; null when there is no way to ask. */
  ask: ((request: SshHostKeyRequest) => Promise<boolean>) | null;
  debug: (line: string) => void;
}

/** Checks the server's host key; one per connection. */
export class HostKeyVerifier {
  readonly #o: HostKeyVerifierOptions;
  #entries: KnownHostsEntry[] = [];
  /** Set when a changed key was accepted under `no-verify`. */
  changedKeyAccepted = false;

  constructor(options: HostKeyVerifierOptions) {
    this.#o = options;
  }

  /** Reads the files (not with `ignore`); returns the host key algorithms to offer, preferred first. */
  async load(): Promise<string[]> {
    if (this.#o.policy === 'ignore') return [...HOST_KEY_ALGORITHMS];
    const entries: KnownHostsEntry[] = [];
    for (const file of [this.#o.knownHostsFile, ...this.#o.extraFiles]) {
      entries.push(...((await readKnownHostsFile(file)) ?? []));
    }
    this.#entries = entries;
    return preferredHostKeyAlgorithms(knownKeyTypes(entries, this.#o.host, this.#o.port));
  }

  /** Accepts the key, or throws the {@link SshError} that says why not. */
  async verify(key: Uint8Array): Promise<void> {
    const { policy, host, port, knownHostsFile } = this.#o;
    if (policy === 'ignore') return;
    const where = hostLabel(host, port);
    const fingerprint = fingerprintSha256(key);
    const keyType = keyTypeOf(key) ?? 'unknown';
    const details = { host: where, fingerprint, knownHostsFile };
    const verdict = checkHostKey(this.#entries, host, port, key);
    switch (verdict.status) {
      case 'known':
        return;
      case 'revoked':
        throw new SshError('ERR_SSH_HOST_KEY_REVOKED',
          `the host key of ${where} (${keyType} ${fingerprint}) is marked @revoked in ${at(verdict.entry)}; refusing to connect`, details);
      case 'changed': {
        const lines = verdict.entries.map(at).join(', ');
        const what = verdict.sameType
          ? `known_hosts has a different ${keyType} key for it (${lines})`
          : `known_hosts has only other key types for it (${[...new Set(verdict.entries.map((e) => e.keyType))].join(', ')}: ${lines})`;
        if (policy === 'no-verify') {
          this.changedKeyAccepted = true;
          this.#o.debug(`ssh: host key of ${where} changed (${fingerprint}); accepted because no_verify=1, password authentication disabled`);
          return;
        }
        throw new SshError('ERR_SSH_HOST_KEY_CHANGED',
          `HOST KEY VERIFICATION FAILED: ${where} presented ${keyType} ${fingerprint}, but ${what}. Someone could be ` +
          `eavesdropping (a man-in-the-middle attack), or the host key was replaced; if you know it was replaced, remove ` +
          `the old key (ssh-keygen -R '${knownHostName(host, port)}' -f ${knownHostsFile}) and connect again`, details);
      }
      case 'unknown': {
        const ca = verdict.certAuthority ? ' (known_hosts has a @cert-authority line for it, but host certificates are not supported)' : '';
        if (policy === 'normal') {
          const prompt = `The authenticity of host ${where} can't be established. ${keyType} key fingerprint is ${fingerprint}. ` +
            'Are you sure you want to continue connecting (yes/no)?';
          const trusted = this.#o.ask !== null &&
            (await this.#o.ask({ type: 'host-key', prompt, host, port, keyType, fingerprint, knownHostsFile }));
          if (!trusted) {
            throw new SshError('ERR_SSH_HOST_KEY_UNKNOWN',
              `the host key of ${where} (${keyType} ${fingerprint}) is not in ${this.#files()}${ca}; check the ` +
              `fingerprint and add the key (ssh-keyscan -p ${port} ${host} >> ${knownHostsFile}), or connect with ` +
              'known_hosts_verify=auto to add it automatically', details);
          }
        }
        await this.#add(key, fingerprint, policy === 'no-verify');
        return;
      }
    }
  }

  async #add(key: Uint8Array, fingerprint: string, tolerant: boolean): Promise<void> {
    const { host, port, knownHostsFile } = this.#o;
    try {
      await appendKnownHostsLine(knownHostsFile, formatKnownHostsLine(host, port, key));
      this.#o.debug(`ssh: added the host key of ${hostLabel(host, port)} (${fingerprint}) to ${knownHostsFile}`);
    } catch (err) {
      // OpenSSH goes on (with a warning) when StrictHostKeyChecking=no cannot write; libvirt fails otherwise.
      if (!tolerant) throw err;
      this.#o.debug(`ssh: could not add the host key to ${knownHostsFile}: ${(err as Error).message}`);
    }
  }

  #files(): string {
    return [this.#o.knownHostsFile, ...this.#o.extraFiles].join(' or ');
  }
}

/** `host:port`, IPv6 in brackets. */
export function hostLabel(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function at(e: KnownHostsEntry): string {
  return `${e.file ?? 'known_hosts'}:${e.line}`;
}

/**
 * The SSH transport: `driver+ssh://[user@]host[:port]/path` (also `+libssh` and `+libssh2`), in pure JavaScript
 * with ssh2, following libvirt's libssh transport (src/rpc/virnetlibsshsession.c) for host keys and
 * authentication, and its remote driver (src/remote/remote_driver.c, src/rpc/virnetclient.c) for what runs at the
 * far end. Loaded lazily by ./index.ts.
 *
 * Defaults follow the `ssh` program, which is what `qemu+ssh` URIs run in libvirt: the user is the local user
 * (libvirt's libssh transport would say root), the port 22, known_hosts `~/.ssh/known_hosts` plus the read-only
 * `/etc/ssh/ssh_known_hosts` (libssh's would use `$XDG_CONFIG_HOME/libvirt/known_hosts`), and the identities
 * `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` (every one that exists is offered, as OpenSSH does). Every step (connect,
 * handshake, host key check, authentication, credential prompts, channel) counts against one timeout. The URI's
 * `command` parameter (the local ssh binary) has no meaning here and is ignored.
 */

import { userInfo } from 'node:os';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { AbortError, LibvirtRpcError, TimeoutError } from '../errors.js';
import type { Transport } from '../protocol/transport.js';
import type { SshTransportOptions } from './index.js';
import { SshAuthenticator, type Ask, type SshCredentialRequest, type SshCredentialsCallback } from './ssh-auth.js';
import { SshChannelTransport } from './ssh-channel.js';
import { planRemoteEnd, type RemoteEnd } from './ssh-command.js';
import { SshError } from './ssh-errors.js';
import { HostKeyVerifier, hostKeyPolicy, hostLabel } from './ssh-host-key.js';
import { DEFAULT_IDENTITY_NAMES, loadIdentity, type Identity } from './ssh-keys.js';
import type { LibvirtUri, SshAuthMethod } from './uri.js';

export { SshError, boundStderr } from './ssh-errors.js';
export type { SshErrorCode, SshErrorDetails } from './ssh-errors.js';
export type {
  SshCredentialAnswer, SshCredentialRequest, SshCredentialsCallback, SshHostKeyRequest, SshKeyboardInteractiveRequest,
  SshPassphraseRequest, SshPasswordRequest,
} from './ssh-auth.js';
export { planRemoteEnd, sshProxyCommand, chooseProxy, shellEscape } from './ssh-command.js';
export type { RemoteEnd, SshProxy } from './ssh-command.js';
export { hostKeyPolicy, type HostKeyPolicy } from './ssh-host-key.js';
export * from './known-hosts.js';

/** The SSH transport's own options, beyond {@link SshTransportOptions}. */
export interface SshExtraOptions {
  /** Answers what authentication needs: passphrases, passwords, keyboard-interactive prompts, new host keys. */
  credentials?: SshCredentialsCallback;
  /**
   * known_hosts files only read, used when the URI has no `known_hosts` parameter (as OpenSSH's
   * GlobalKnownHostsFile). Default `['/etc/ssh/ssh_known_hosts']`.
   */
  globalKnownHosts?: readonly string[];
  /** Progress lines (never secrets), for troubleshooting. */
  debug?: (line: string) => void;
  /** The user name when the URI has none; default the local user's. */
  localUser?: string;
}

/** Options of {@link openSshTransport}. */
export type SshOpenOptions = SshTransportOptions & SshExtraOptions;

/** libvirt's default `sshauth` order (docs/uri.rst; virNetClientNewLibssh). */
export const DEFAULT_SSH_AUTH: readonly SshAuthMethod[] = ['agent', 'privkey', 'password', 'keyboard-interactive'];
/** The SSH port. */
export const SSH_PORT = 22;

/**
 * Opens an SSH connection and a channel to the daemon for `uri`. Rejects with {@link SshError} (its `code` says
 * which step failed), {@link UriError} for impossible parameter combinations, {@link TimeoutError} or
 * {@link AbortError}.
 */
export async function openSshTransport(uri: LibvirtUri, options: SshOpenOptions): Promise<Transport> {
  const debug = options.debug ?? (() => undefined);
  if (options.signal?.aborted) throw new AbortError('opening the SSH transport was aborted', { cause: options.signal.reason });
  const host = uri.host ?? 'localhost'; // doRemoteOpen: no host means localhost
  const port = uri.port ?? SSH_PORT;
  const where = hostLabel(host, port);
  const user = uri.user ?? options.localUser ?? localUserName(options.env);
  const remoteEnd = planRemoteEnd(uri, options);
  const home = nonEmpty(options.env['HOME']) ?? options.homeDir;
  const methods = uri.remote.sshauth ?? DEFAULT_SSH_AUTH;
  const identities = methods.includes('privkey') ? await findIdentities(uri.remote.keyfile, home, options.exists) : [];
  const knownHostsFile = uri.remote.knownHosts ?? (home !== undefined ? `${home.replace(/\/+$/, '')}/.ssh/known_hosts` : undefined);
  const policy = hostKeyPolicy(uri);
  if (knownHostsFile === undefined && policy !== 'ignore') {
    throw new SshError('ERR_SSH_KNOWN_HOSTS', 'cannot locate ~/.ssh/known_hosts: HOME is unset; give the known_hosts parameter');
  }
  const description = `ssh:${user}@${where} (${describeEnd(remoteEnd)})`;
  debug(`ssh: opening ${description}, host keys: ${policy}, auth: ${methods.join(',')}`);

  return new Promise<Transport>((resolve, reject) => {
    const client = new Client();
    let step = 'connecting';
    let settled = false;
    let fatal: Error | null = null;
    let connected = false;
    let handshaken = false;
    const timer = setTimeout(
      () => settle(new TimeoutError(`ssh ${where}: ${step} did not finish within ${options.timeout} ms`)),
      options.timeout,
    );

    const settle = (err: Error | null, transport?: Transport): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if (err !== null) {
        client.on('error', () => undefined);
        client.destroy();
        reject(err);
      } else {
        resolve(transport!);
      }
    };
    const fail = (err: unknown): void => {
      fatal ??= err instanceof Error ? err : new SshError('ERR_SSH_HANDSHAKE', `ssh ${where}: ${String(err)}`);
      settle(fatal);
    };
    const onAbort = (): void => settle(new AbortError(`ssh ${where}: ${step} was aborted`, { cause: options.signal?.reason }));
    if (options.signal?.aborted) return onAbort(); // aborted while the key files were read
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const batch = uri.remote.noTty === true;
    const callback = batch ? undefined : options.credentials;
    const askRaw = async (request: SshCredentialRequest): Promise<unknown> => {
      const before = step;
      step = `waiting for the credentials callback (${request.type})`;
      try {
        return await callback!(request);
      } catch (err) {
        const code = request.type === 'passphrase' ? 'ERR_SSH_PASSPHRASE' : request.type === 'host-key' ? 'ERR_SSH_HOST_KEY_UNKNOWN' : 'ERR_SSH_AUTH';
        const failure = new SshError(code, `ssh ${where}: the credentials callback failed when asked for ${request.type === 'host-key' ? 'a host key decision' : `a ${request.type}`}`, { cause: err });
        fail(failure);
        throw failure;
      } finally {
        step = before;
      }
    };
    const ask: Ask | null = callback === undefined ? null : async (request) => {
      const answer = await askRaw(request);
      return typeof answer === 'string' ? answer : null;
    };

    const verifier = new HostKeyVerifier({
      policy, host, port, knownHostsFile: knownHostsFile ?? '', debug,
      extraFiles: uri.remote.knownHosts === undefined ? (options.globalKnownHosts ?? ['/etc/ssh/ssh_known_hosts']) : [],
      ask: callback === undefined ? null : async (request) => {
        const answer = await askRaw(request);
        return answer === true || (typeof answer === 'string' && /^y(es)?$/i.test(answer.trim()));
      },
    });
    const auth = new SshAuthenticator({
      user, hostLabel: where, methods, identities, agentSocket: nonEmpty(options.env['SSH_AUTH_SOCK']), ask, debug,
      interactiveAllowed: () => !verifier.changedKeyAccepted,
      fatal: (err) => fail(err),
    });

    const onError = (err: Error & { level?: string }): void => {
      if (fatal !== null) return settle(fatal);
      switch (err.level) {
        case 'agent':
          debug(`ssh auth: agent: ${err.message}`);
          return; // ssh2 goes on with the next method
        case 'client-authentication':
          return fail(new SshError('ERR_SSH_AUTH', `ssh ${user}@${where}: authentication failed: ${auth.summary()}`, { host: where }));
        case 'client-timeout':
          return fail(new TimeoutError(`ssh ${where}: ${step} did not finish within ${options.timeout} ms`));
        case 'client-socket':
        case 'client-dns':
          if (!connected) {
            return fail(new SshError('ERR_SSH_CONNECT', `cannot connect to the SSH server ${where}: ${socketReason(err)}`, { cause: err, host: where }));
          }
          return fail(new SshError(handshaken ? 'ERR_SSH_AUTH' : 'ERR_SSH_HANDSHAKE', `ssh ${where}: the connection failed during ${step}: ${socketReason(err)}`, { cause: err, host: where }));
        default:
          return fail(new SshError('ERR_SSH_HANDSHAKE', `ssh ${where}: SSH handshake failed: ${err.message}`, { cause: err, host: where }));
      }
    };
    const onClose = (): void => {
      if (fatal !== null) return settle(fatal);
      if (!connected) return fail(new SshError('ERR_SSH_CONNECT', `cannot connect to the SSH server ${where}`, { host: where }));
      const code = handshaken ? 'ERR_SSH_AUTH' : 'ERR_SSH_HANDSHAKE';
      fail(new SshError(code, `ssh ${where}: the server closed the connection during ${step}${handshaken ? `; ${auth.summary()}` : ''}`, { host: where }));
    };
    client.on('error', onError);
    client.on('close', onClose);
    client.on('connect', () => {
      connected = true;
      step = 'the SSH handshake';
    });
    client.on('handshake', () => {
      handshaken = true;
      step = 'authentication';
    });
    client.on('ready', () => {
      step = 'opening the channel';
      debug(`ssh: authenticated as ${user}@${where}; opening ${describeEnd(remoteEnd)}`);
      openChannel(client, remoteEnd, (err, channel) => {
        if (settled) {
          channel?.destroy();
          return;
        }
        if (err !== undefined || channel === undefined) {
          const what = remoteEnd.kind === 'direct' ? `a channel to ${remoteEnd.socket}` : 'the remote command';
          return fail(new SshError('ERR_SSH_CHANNEL', `ssh ${where}: the server refused ${what}: ${err?.message ?? 'no channel'}`, { cause: err, host: where }));
        }
        settle(null, new SshChannelTransport(client, channel, description, { exec: remoteEnd.kind === 'exec' }));
      });
    });

    void verifier.load().then((serverHostKey) => {
      if (settled) return;
      const config: ConnectConfig = {
        host, port, username: user,
        readyTimeout: options.timeout + 1000, // our own timer fires first, with the step in its message
        algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          step = 'the host key check';
          verifier.verify(key).then(
            () => {
              step = 'the SSH handshake';
              verify(true);
            },
            (err: unknown) => {
              fail(err);
              verify(false);
            },
          );
        },
        authHandler: auth.handler as unknown as ConnectConfig['authHandler'],
      };
      client.connect(config);
    }, fail);
  });
}

function openChannel(client: Client, end: RemoteEnd, cb: (err: Error | undefined, channel?: ClientChannel) => void): void {
  if (end.kind === 'direct') {
    client.openssh_forwardOutStreamLocal(end.socket, (err, channel) => cb(err ?? undefined, channel));
  } else {
    // No pty: the channel must carry binary data untouched (libvirt's ssh runs with -T when no_tty is set).
    client.exec(end.command, (err, channel) => cb(err ?? undefined, channel));
  }
}

/** The identities to offer: `keyfile` alone when given (it must be usable), else the default files that exist. */
async function findIdentities(keyfile: string | undefined, home: string | undefined, exists: (p: string) => boolean): Promise<Identity[]> {
  if (keyfile !== undefined) return [await loadIdentity(keyfile, true)];
  if (home === undefined) return [];
  const found: Identity[] = [];
  for (const name of DEFAULT_IDENTITY_NAMES) {
    const file = `${home.replace(/\/+$/, '')}/.ssh/${name}`;
    if (!exists(file)) continue;
    try {
      found.push(await loadIdentity(file, false));
    } catch (err) {
      // An unusable default key is skipped, as OpenSSH skips it.
      if (!(err instanceof LibvirtRpcError)) throw err;
    }
  }
  return found;
}

function describeEnd(end: RemoteEnd): string {
  if (end.kind === 'direct') return `direct-streamlocal ${end.socket}`;
  if (end.proxy === 'native') return 'virt-ssh-helper';
  if (end.proxy === 'netcat') return `nc -U ${end.socket}`;
  return `virt-ssh-helper, else nc -U ${end.socket}`;
}

function socketReason(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined ? String(code) : err.message;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** The local user name, as `ssh` uses when the URI names no user. */
function localUserName(env: Readonly<Record<string, string | undefined>>): string {
  try {
    return userInfo().username;
  } catch {
    return nonEmpty(env['USER']) ?? nonEmpty(env['LOGNAME']) ?? 'root';
  }
}

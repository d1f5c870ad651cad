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
import { bounded, type Settle } from '../protocol/bounded.js';
import type { Transport } from '../protocol/transport.js';
import type { SshTransportOptions } from './index.js';
import { SshAuthenticator, type Ask, type SshCredentialRequest, type SshCredentialsCallback } from './ssh-auth.js';
import { sshChannelTransport } from './ssh-channel.js';
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
 * {@link AbortError}. One bound (`timeout`) covers every step.
 */
export async function openSshTransport(uri: LibvirtUri, options: SshOpenOptions): Promise<Transport> {
  const debug = options.debug ?? (() => undefined);
  const plan = planSsh(uri, options);
  debug(`ssh: opening ${plan.description}, host keys: ${plan.policy}, auth: ${plan.methods.join(',')}`);
  const at: Progress = { step: 'reading the keys' };
  return bounded<Transport>({
    timeout: options.timeout,
    signal: options.signal,
    onTimeout: () => new TimeoutError(`ssh ${plan.where}: ${at.step} did not finish within ${options.timeout} ms`),
    onAbort: (reason) => new AbortError(`ssh ${plan.where}: ${at.step} was aborted`, { cause: reason }),
  }, (settle) => openSteps(plan, options, at, settle, debug));
}

/** Where to connect, as whom, how the host key is checked and what runs at the far end. */
interface SshPlan {
  host: string;
  port: number;
  /** `host:port` for messages. */
  where: string;
  user: string;
  remoteEnd: RemoteEnd;
  methods: readonly SshAuthMethod[];
  keyfile: string | undefined;
  home: string | undefined;
  knownHostsFile: string | undefined;
  /** known_hosts files only read (OpenSSH's GlobalKnownHostsFile), when the URI names none. */
  extraKnownHosts: readonly string[];
  policy: ReturnType<typeof hostKeyPolicy>;
  /** The credentials callback; none with no_tty=1 (batch mode). */
  callback: SshCredentialsCallback | undefined;
  /** The ssh-agent's socket (SSH_AUTH_SOCK). */
  agentSocket: string | undefined;
  /** The bound on the whole opening, in ms. */
  timeout: number;
  description: string;
}

interface Progress {
  step: string;
}

function planSsh(uri: LibvirtUri, options: SshOpenOptions): SshPlan {
  const host = uri.host ?? 'localhost'; // doRemoteOpen: no host means localhost
  const port = uri.port ?? SSH_PORT;
  const where = hostLabel(host, port);
  const user = uri.user ?? options.localUser ?? localUserName(options.env);
  const remoteEnd = planRemoteEnd(uri, options);
  const home = nonEmpty(options.env['HOME']) ?? options.homeDir;
  const knownHostsFile = uri.remote.knownHosts ?? (home !== undefined ? `${home.replace(/\/+$/, '')}/.ssh/known_hosts` : undefined);
  const policy = hostKeyPolicy(uri);
  if (knownHostsFile === undefined && policy !== 'ignore') {
    throw new SshError('ERR_SSH_KNOWN_HOSTS', 'cannot locate ~/.ssh/known_hosts: HOME is unset; give the known_hosts parameter');
  }
  return {
    host, port, where, user, remoteEnd, home, knownHostsFile, policy,
    methods: uri.remote.sshauth ?? DEFAULT_SSH_AUTH,
    keyfile: uri.remote.keyfile,
    extraKnownHosts: uri.remote.knownHosts === undefined ? (options.globalKnownHosts ?? ['/etc/ssh/ssh_known_hosts']) : [],
    callback: uri.remote.noTty === true ? undefined : options.credentials,
    agentSocket: nonEmpty(options.env['SSH_AUTH_SOCK']),
    timeout: options.timeout,
    description: `ssh:${user}@${where} (${describeEnd(remoteEnd)})`,
  };
}

async function openSteps(plan: SshPlan, options: SshOpenOptions, at: Progress, settle: Settle<Transport>, debug: (line: string) => void): Promise<Transport> {
  // 1. The identities to offer: the keyfile, else the default key files that exist.
  const identities = plan.methods.includes('privkey') ? await findIdentities(plan.keyfile, plan.home, options.exists) : [];

  // 2. The SSH session: connect, check the host key, authenticate.
  at.step = 'connecting';
  const client = new Client();
  settle.finally((err) => {
    if (err === null) return;
    client.on('error', () => undefined);
    client.destroy();
  });
  await startSession(client, plan, identities, at, settle, debug);

  // 3. The channel to the daemon: the proxy command, or a stream-local channel to its socket.
  at.step = 'opening the channel';
  debug(`ssh: authenticated as ${plan.user}@${plan.where}; opening ${describeEnd(plan.remoteEnd)}`);
  const channel = await openChannel(client, plan.remoteEnd).catch((err: Error) => {
    const what = plan.remoteEnd.kind === 'direct' ? `a channel to ${plan.remoteEnd.socket}` : 'the remote command';
    throw new SshError('ERR_SSH_CHANNEL', `ssh ${plan.where}: the server refused ${what}: ${err.message}`, { cause: err, host: plan.where });
  });
  return sshChannelTransport(client, channel, plan.description, { exec: plan.remoteEnd.kind === 'exec' });
}

/**
 * Connects `client`, checks the host key and authenticates; resolves when the session is ready. Failures (of
 * the connection, the host key check, authentication, a credentials callback) fail `settle` at once, so the
 * first one is the one reported.
 */
function startSession(client: Client, plan: SshPlan, identities: Identity[], at: Progress, settle: Settle<Transport>, debug: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { where, user } = plan;
    let connected = false;
    let handshaken = false;
    const fail = (err: unknown): void => {
      const e = err instanceof Error ? err : new SshError('ERR_SSH_HANDSHAKE', `ssh ${where}: ${String(err)}`);
      settle.fail(e);
      reject(e);
    };
    const askRaw = async (request: SshCredentialRequest): Promise<unknown> => {
      const before = at.step;
      at.step = `waiting for the credentials callback (${request.type})`;
      try {
        return await plan.callback!(request);
      } catch (err) {
        const code = request.type === 'passphrase' ? 'ERR_SSH_PASSPHRASE' : request.type === 'host-key' ? 'ERR_SSH_HOST_KEY_UNKNOWN' : 'ERR_SSH_AUTH';
        const failure = new SshError(code, `ssh ${where}: the credentials callback failed when asked for ${request.type === 'host-key' ? 'a host key decision' : `a ${request.type}`}`, { cause: err });
        fail(failure);
        throw failure;
      } finally {
        at.step = before;
      }
    };
    const ask: Ask | null = plan.callback === undefined ? null : async (request) => {
      const answer = await askRaw(request);
      return typeof answer === 'string' ? answer : null;
    };
    const verifier = new HostKeyVerifier({
      policy: plan.policy, host: plan.host, port: plan.port, knownHostsFile: plan.knownHostsFile ?? '', debug,
      extraFiles: plan.extraKnownHosts,
      ask: plan.callback === undefined ? null : async (request) => {
        const answer = await askRaw(request);
        return answer === true || (typeof answer === 'string' && /^y(es)?$/i.test(answer.trim()));
      },
    });
    const auth = new SshAuthenticator({
      user, hostLabel: where, methods: plan.methods, identities, agentSocket: plan.agentSocket, ask, debug,
      interactiveAllowed: () => !verifier.changedKeyAccepted,
      fatal: (err) => fail(err),
    });

    const onError = (err: Error & { level?: string }): void => {
      switch (err.level) {
        case 'agent':
          debug(`ssh auth: agent: ${err.message}`);
          return; // ssh2 goes on with the next method
        case 'client-authentication':
          return fail(new SshError('ERR_SSH_AUTH', `ssh ${user}@${where}: authentication failed: ${auth.summary()}`, { host: where }));
        case 'client-timeout':
          return fail(new TimeoutError(`ssh ${where}: ${at.step} did not finish within ${plan.timeout} ms`));
        case 'client-socket':
        case 'client-dns':
          if (!connected) {
            return fail(new SshError('ERR_SSH_CONNECT', `cannot connect to the SSH server ${where}: ${socketReason(err)}`, { cause: err, host: where }));
          }
          return fail(new SshError(handshaken ? 'ERR_SSH_AUTH' : 'ERR_SSH_HANDSHAKE', `ssh ${where}: the connection failed during ${at.step}: ${socketReason(err)}`, { cause: err, host: where }));
        default:
          return fail(new SshError('ERR_SSH_HANDSHAKE', `ssh ${where}: SSH handshake failed: ${err.message}`, { cause: err, host: where }));
      }
    };
    const onClose = (): void => {
      if (!connected) return fail(new SshError('ERR_SSH_CONNECT', `cannot connect to the SSH server ${where}`, { host: where }));
      const code = handshaken ? 'ERR_SSH_AUTH' : 'ERR_SSH_HANDSHAKE';
      fail(new SshError(code, `ssh ${where}: the server closed the connection during ${at.step}${handshaken ? `; ${auth.summary()}` : ''}`, { host: where }));
    };
    // Until the transport is built, failures of the session are the open's; then the transport owns them.
    client.on('error', onError);
    client.on('close', onClose);
    settle.finally(() => {
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    });
    client.on('connect', () => {
      connected = true;
      at.step = 'the SSH handshake';
    });
    client.on('handshake', () => {
      handshaken = true;
      at.step = 'authentication';
    });
    client.once('ready', () => resolve());

    void verifier.load().then((serverHostKey) => {
      if (settle.settled) return;
      client.connect({
        host: plan.host, port: plan.port, username: user,
        readyTimeout: plan.timeout + 1000, // our own bound fires first, with the step in its message
        algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
          at.step = 'the host key check';
          verifier.verify(key).then(
            () => {
              at.step = 'the SSH handshake';
              verify(true);
            },
            (err: unknown) => {
              fail(err);
              verify(false);
            },
          );
        },
        authHandler: auth.handler as unknown as ConnectConfig['authHandler'],
      });
    }, fail);
  });
}

function openChannel(client: Client, end: RemoteEnd): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, channel?: ClientChannel): void => {
      if (err !== undefined || channel === undefined) reject(err ?? new Error('no channel'));
      else resolve(channel);
    };
    if (end.kind === 'direct') {
      client.openssh_forwardOutStreamLocal(end.socket, (err, channel) => done(err ?? undefined, channel));
    } else {
      // No pty: the channel must carry binary data untouched (libvirt's ssh runs with -T when no_tty is set).
      client.exec(end.command, (err, channel) => done(err ?? undefined, channel));
    }
  });
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

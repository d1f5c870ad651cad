/**
 * The {@link CliContext} a command runs with: parsed global options, a connection opened on first use and
 * closed (bounded) when the command ends, writers, and the AbortSignal that SIGINT/SIGTERM trip.
 */
import { AbortError, connect, SaslError, type Connect, type CredentialsCallback, type NodeConnectOptions, type ReconnectPolicy } from '../index.js';
import type { CliContext, CliGlobalOptions, CliTerminal, CliWriter } from './command.js';
import { CliCommandError, CliConnectError } from './errors.js';

/** Opens a connection; `connect()` from the package unless a test supplies its own. */
export type ConnectionOpener = (uri: string | null, options: NodeConnectOptions) => Promise<Connect>;

/** What the CLI needs from its surroundings (the process, or a test). */
export interface CliIo {
  stdout: CliWriter;
  stderr: CliWriter;
  /** Whether stdout is a terminal. */
  isTTY?: boolean;
  /** Whether stderr is a terminal. */
  stderrIsTTY?: boolean;
  /** The raw terminal (the process's stdin and stdout as byte streams), for `console`. */
  terminal?: CliTerminal;
  /** The environment for LIBVIRT_DEFAULT_URI, XDG_* and HOME; default the process's. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Opens connections (default: the package's `connect`). */
  open?: ConnectionOpener;
  /** The clock (default: `new Date()`). */
  now?: () => Date;
  /**
   * Asks for credentials auth.conf lacks (main: the terminal's prompts when stdin is a terminal). Without it a
   * missing SASL credential fails the connection, with a hint to use auth.conf.
   */
  credentials?: CredentialsCallback;
}

/** Bound on closing the connection after a command, in ms (at most the global timeout). */
const CLOSE_BOUND_MS = 5_000;

/** A command's context; main owns it and calls {@link CliSession.dispose} when the command ends. */
export class CliSession implements CliContext {
  readonly global: CliGlobalOptions;
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
  readonly isTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly terminal: CliTerminal | undefined;
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly #open: ConnectionOpener;
  readonly #now: () => Date;
  readonly #credentials: CredentialsCallback | undefined;
  #conn: Promise<Connect> | null = null;

  constructor(global: CliGlobalOptions, io: CliIo, signal: AbortSignal, env: Readonly<Record<string, string | undefined>>) {
    this.global = global;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.isTTY = io.isTTY ?? false;
    this.stderrIsTTY = io.stderrIsTTY ?? false;
    this.terminal = io.terminal;
    this.signal = signal;
    this.env = env;
    this.#open = io.open ?? ((uri, options) => connect(uri, options));
    this.#now = io.now ?? (() => new Date());
    this.#credentials = io.credentials;
  }

  connect(opts: { reconnect?: ReconnectPolicy } = {}): Promise<Connect> {
    this.#conn ??= this.#open(this.global.uri, {
      ...(opts.reconnect ? { reconnect: opts.reconnect } : {}),
      env: this.env,
      timeout: this.global.timeout,
      callTimeout: this.global.timeout,
      signal: this.signal,
      readOnly: this.global.readonly,
      credentials: this.#credentials,
    }).catch((e: unknown) => {
      // virsh: "error: failed to connect to the hypervisor", then libvirt's reason.
      if (e instanceof AbortError) throw e;
      if (e instanceof SaslError && e.code === 'ERR_SASL_NO_CREDENTIALS' && this.#credentials === undefined) {
        const hint = 'stdin is not a terminal, so nothing can be asked: put the credentials in libvirt\'s auth.conf ([credentials-NAME] with authname= and password=, [auth-libvirt-HOST] with credentials=NAME), found through LIBVIRT_AUTH_FILE, the URI\'s authfile= or $XDG_CONFIG_HOME/libvirt/auth.conf';
        throw new CliConnectError(new CliCommandError(e.message, new Error(hint)));
      }
      throw new CliConnectError(e);
    });
    return this.#conn;
  }

  callOptions(): { signal: AbortSignal; timeout: number } {
    return { signal: this.signal, timeout: this.global.timeout };
  }

  now(): Date {
    return this.#now();
  }

  /** Whether a connection was asked for. */
  get connected(): boolean {
    return this.#conn !== null;
  }

  /**
   * Closes the connection if one was opened: gracefully (bounded) after a normal end, at once after an abort,
   * when `graceful` is false (a call timed out: the daemon may be stuck) or when the graceful close fails.
   * Never throws.
   */
  async dispose(graceful = true): Promise<void> {
    if (this.#conn === null) return;
    let conn: Connect;
    try {
      conn = await this.#conn;
    } catch {
      return;
    }
    if (!graceful || this.signal.aborted || !conn.isAlive()) {
      conn.destroy();
      return;
    }
    try {
      await conn.close({ timeout: Math.min(CLOSE_BOUND_MS, this.global.timeout) });
    } catch {
      conn.destroy();
    }
  }
}

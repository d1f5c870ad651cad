/**
 * The contract between the `libvirt-rpc` command line and its commands: a command declares its name, a
 * one-line summary, a usage line and its options, and gets a {@link CliContext} plus its parsed
 * {@link CliArgs} when it runs. `main.ts` keeps the registry, parses global options, prints `--help` from
 * the declarations and turns thrown errors into virsh's `error: ...` lines and exit code 1.
 */
import { brandError, InvalidArgumentError } from '../errors.js';
import type { Connect, ReconnectPolicy } from '../index.js';

/**
 * A command line that cannot be run as written (unknown option, missing argument, bad value). main prints
 * `error: <message>` and exits 1, as virsh does for its option errors.
 */
export class CliUsageError extends InvalidArgumentError {
  static {
    brandError(this, 'CliUsageError');
  }

  override readonly code: string = 'ERR_CLI_USAGE';
}

/** How an option takes its value. */
export type CliOptionType =
  /** `--name` alone; true when given. */
  | 'boolean'
  /** `--name VALUE` or `--name=VALUE`; given twice is an error (as in virsh). */
  | 'string'
  /** Like 'string', read as a non-negative decimal integer (a malformed value is a usage error). */
  | 'integer'
  /** `--name VALUE`, repeatable; the values in order (virsh's VSH_OT_ARGV-like `--diskspec`). */
  | 'strings';

/** One option of a command, in virsh's terms. */
export interface CliOptionSpec {
  /** Long name without dashes, e.g. `snapshotname` (accepted as `--snapshotname`). */
  readonly name: string;
  readonly type: CliOptionType;
  /** One-line help, shown by `--help`. */
  readonly help: string;
  /**
   * Whether the value may also be given without its `--name`, as virsh's "data" options: positional words
   * fill the positional options in the order they are declared (`snapshot-info dom snap`).
   */
  readonly positional?: boolean;
  /** Whether the command fails (exit 1, `error: command 'x' requires <name> option`) without it. */
  readonly required?: boolean;
  /** A one-letter alias (e.g. `n` for `-n`); rarely used, virsh has few. */
  readonly short?: string;
  /** How `--help` names the value (default: `string`, or `number` for integers, as virsh prints `<string>`). */
  readonly placeholder?: string;
}

/** A command's parsed options: read them by long name. */
export interface CliArgs {
  /** Whether the option was given at all. */
  has(name: string): boolean;
  /** A 'boolean' option's value (false when not given). */
  flag(name: string): boolean;
  /**
   * A 'string' option's value, or undefined. An empty value is a usage error (virsh: "Failed to get option
   * 'x': Option argument is empty"), raised when the command reads it, as virsh does.
   */
  string(name: string): string | undefined;
  /** A 'string' option's value; throws a usage error naming the option when it is missing. */
  requireString(name: string): string;
  /** An 'integer' option's value, or undefined; a malformed value is a usage error. */
  integer(name: string): number | undefined;
  /** A 'strings' option's values in order (empty when not given). */
  strings(name: string): string[];
}

/** Global options, given before the command name (`libvirt-rpc -c URI --timeout 5000 snapshot-list dom`). */
export interface CliGlobalOptions {
  /** `-c/--connect URI`; null means `LIBVIRT_DEFAULT_URI`, else the library's default. */
  readonly uri: string | null;
  /** `--timeout MS`: bound on each daemon call (and on opening the connection); default 30000. */
  readonly timeout: number;
  /** `--json` (also accepted after the command name): machine-readable output on stdout. */
  readonly json: boolean;
  /** `-r/--readonly`: open the connection read-only, as virsh's `-r`. */
  readonly readonly: boolean;
  /** `-q/--quiet`: leave out informational lines (e.g. "Domain snapshot x created"), as virsh's `-q`. */
  readonly quiet: boolean;
}

/** Where a command writes; text goes out as given (commands add their own newlines). */
export interface CliWriter {
  write(text: string): void;
}

/** The process's terminal as byte streams, for interactive commands (`console`). */
export interface CliTerminal {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly stdout: NodeJS.WritableStream;
}

/** What a command gets to run with. */
export interface CliContext {
  readonly global: CliGlobalOptions;
  /**
   * The connection, opened on first use (bounded by `global.timeout` and `signal`) and closed by main. A command
   * that runs for long may ask the first use for a reconnect policy (`schedule daemon` does).
   */
  connect(opts?: { reconnect?: ReconnectPolicy }): Promise<Connect>;
  /** `{ signal, timeout }` to pass last to every daemon call: the global timeout and the SIGINT/SIGTERM signal. */
  callOptions(): { signal: AbortSignal; timeout: number };
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
  /** Whether stdout is a terminal. */
  readonly isTTY: boolean;
  /** Whether stderr is a terminal (progress lines are drawn only then). */
  readonly stderrIsTTY?: boolean;
  /** The raw terminal, when the CLI runs as a process (`console` needs it). */
  readonly terminal?: CliTerminal;
  /** Aborts on SIGINT/SIGTERM; main then exits 130/143. */
  readonly signal: AbortSignal;
  /** The environment (the process's, or a test's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The current time (a test may fix it). */
  now(): Date;
}

/** A command of the `libvirt-rpc` CLI. */
export interface CliCommand {
  /** The name typed on the command line, e.g. `snapshot-list` (virsh's name where virsh has the command). */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis shown by `--help`, e.g. `snapshot-list <domain> [--tree] [--roots] ...`. */
  readonly usage: string;
  /** Longer help text, printed under the synopsis (optional). */
  readonly description?: string;
  /** The options; `--help` and `--json` are added to every command by main and need not be declared. */
  readonly options: readonly CliOptionSpec[];
  /**
   * When true, SIGINT/SIGTERM only abort `ctx.signal` and main waits for `run` to return (the command finishes
   * its current step, e.g. `schedule daemon`'s pass); a second signal still exits at once.
   */
  readonly graceful?: boolean;
  /**
   * Runs the command; resolves to the exit code (undefined means 0). Throwing prints `error: <message>` and
   * exits 1 (a daemon error prints libvirt's message, as virsh does). After the command, main writes virsh's
   * blank line to stdout unless `-q` or `--json` was given. With `--json`, write one JSON document and nothing
   * else (`printJson`/`printExtra` in ./output, tables and trees in ./format).
   */
  run(ctx: CliContext, args: CliArgs): Promise<number | void>;
}

/**
 * How the CLI reports failures: virsh's `error: ...` lines. A daemon error prints libvirt's own message (what
 * virsh's vshReportError prints); a command may put its own line first (virsh's "Failed to delete snapshot
 * s1" before libvirt's reason). Nothing printed may carry a secret: URIs lose their userinfo password and
 * secret-like query values, and no XML from the daemon is ever part of an error.
 */
import { AbortError, brandError, LibvirtRpcError, RemoteError } from '../errors.js';

/**
 * A command failure with virsh's leading lines: `context` is printed first, one `error: ` line each, then the
 * cause's own line(s), as virsh prints vshError() lines before the saved libvirt error.
 */
export class CliCommandError extends LibvirtRpcError {
  static {
    brandError(this, 'CliCommandError');
  }

  override readonly code: string = 'ERR_CLI_COMMAND';
  /** Lines printed before the cause's. */
  readonly context: readonly string[];

  constructor(context: string | readonly string[], cause?: unknown) {
    const lines = typeof context === 'string' ? [context] : [...context];
    super(lines.join('; '), cause === undefined ? undefined : { cause });
    this.context = lines;
  }
}

/**
 * The connection could not be opened: virsh's "failed to connect to the hypervisor", then the reason. virsh
 * connects before it runs a command, so after this failure it prints no blank line for the command.
 */
export class CliConnectError extends CliCommandError {
  static {
    brandError(this, 'CliConnectError');
  }

  override readonly code: string = 'ERR_CLI_CONNECT';

  constructor(cause: unknown) {
    super('failed to connect to the hypervisor', cause);
  }
}

/** Runs `fn`; when it fails, adds `line` before the failure's own lines (virsh: "Failed to revert snapshot s1"). */
export async function withContext<T>(line: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AbortError) throw e;
    throw new CliCommandError(line, e);
  }
}

const SECRET_PARAMS = /([?&;](?:[^=&;#\s]*(?:pass(?:word|phrase)?|secret|token|key_?data|credential)[^=&;#\s]*)=)[^&;#\s]*/gi;

/**
 * Hides secrets a message might carry: `scheme://user:password@host` keeps `user`, and values of query
 * parameters named like passwords, passphrases, secrets or tokens become `***`.
 */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^@/\s]*@/gi, '$1:***@')
    .replace(SECRET_PARAMS, '$1***');
}

/** Whether `e` or an error in its cause chain is an instance of `type`. */
export function causedBy(e: unknown, type: abstract new (...args: never[]) => Error): boolean {
  let cur: unknown = e;
  for (let depth = 0; depth < 8 && cur instanceof Error; depth++) {
    if (cur instanceof type) return true;
    cur = (cur as Error).cause;
  }
  return false;
}

/** The text virsh would print for one error (without `error: `). */
function ownLine(e: unknown): string {
  if (e instanceof RemoteError) return e.remote.message ?? e.remote.codeName;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The `error: ` lines for a failure, outermost context first: a CliCommandError's lines, then its cause's
 * (recursively); any other error gives its own message. Every line is redacted.
 */
export function errorLines(e: unknown): string[] {
  const lines: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 8 && cur !== undefined; depth++) {
    if (cur instanceof CliCommandError) {
      lines.push(...cur.context);
      cur = cur.cause;
      continue;
    }
    lines.push(ownLine(cur));
    break;
  }
  return lines.map((l) => redact(l));
}

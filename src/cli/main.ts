#!/usr/bin/env node
/**
 * `libvirt-rpc`: a virsh-compatible command line for snapshots and checkpoints over libvirt-rpc.
 *
 * {@link runCli} does the work and returns the exit code (virsh's: 0 ok, 1 error; 130/143 after SIGINT/SIGTERM),
 * so tests run it in-process; run as a program, this file wires it to the process (argv, stdout, stderr,
 * signals) and exits with that code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AbortError, TimeoutError } from '../errors.js';
import { parseCommandArgs, parseGlobalArgs } from './args.js';
import type { CliCommand } from './command.js';
import { CliSession, type CliIo } from './context.js';
import { causedBy, CliConnectError, errorLines } from './errors.js';
import { commandHelp, PROGRAM, programHelp } from './help.js';
import { terminalCredentials } from './prompt.js';
import { defaultRegistry, type CommandRegistry } from './registry.js';

/** Why the CLI was interrupted: the abort reason main puts on the command's signal. */
export class InterruptReason {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {}

  /** The exit code shells expect after this signal: 128 + its number. */
  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/** Options of {@link runCli} beyond the I/O. */
export interface RunOptions {
  /** Aborts the command; an {@link InterruptReason} as the reason picks the exit code (else 130). */
  interrupt?: AbortSignal;
  /** The commands (default: every built-in one plus ./schedule's). */
  registry?: CommandRegistry;
}

/** This package's version, from its package.json (found upwards from this file, in src/ or dist/src/). */
export function packageVersion(): string {
  for (let dir = __dirname, i = 0; i < 6; dir = path.dirname(dir), i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'libvirt-rpc' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look further up
    }
  }
  return 'unknown';
}

function printErrors(io: CliIo, e: unknown): void {
  for (const line of errorLines(e)) io.stderr.write(`error: ${line}\n`);
}

/** Resolves when `signal` aborts (never rejects); the race partner of a command that ignores its signal. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Runs one command line; resolves to the exit code. Never rejects. */
export async function runCli(argv: readonly string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  let registry: CommandRegistry;
  let global: ReturnType<typeof parseGlobalArgs>;
  try {
    registry = options.registry ?? defaultRegistry();
    global = parseGlobalArgs(argv);
  } catch (e) {
    printErrors(io, e);
    return 1;
  }
  if (global.version) {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (global.help) {
    io.stdout.write(programHelp(registry.list()));
    return 0;
  }
  if (global.command === null) {
    io.stderr.write(`error: no command given. See '${PROGRAM} --help'.\n`);
    return 1;
  }
  const command: CliCommand | undefined = registry.get(global.command);
  if (command === undefined) {
    io.stderr.write(`error: unknown command: '${global.command}'\n`);
    return 1;
  }
  let args: ReturnType<typeof parseCommandArgs>;
  try {
    args = parseCommandArgs(command, global.rest);
  } catch (e) {
    printErrors(io, e);
    return 1;
  }
  const quiet = global.options.quiet;
  const json = global.options.json || args.flag('json');
  // virsh prints an empty line after every command it ran (not with -q); JSON output stays one document.
  const separator = (): void => {
    if (!quiet && !json) io.stdout.write('\n');
  };
  if (args.flag('help')) {
    io.stdout.write(commandHelp(command));
    separator();
    return 0;
  }

  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort(options.interrupt?.reason);
  if (options.interrupt?.aborted) onInterrupt();
  else options.interrupt?.addEventListener('abort', onInterrupt, { once: true });
  const env = io.env ?? process.env;
  const session = new CliSession({ ...global.options, json }, io, controller.signal, env);
  const interruptCode = (): number => {
    const reason: unknown = controller.signal.reason;
    return reason instanceof InterruptReason ? reason.exitCode : 130;
  };
  let code: number;
  let graceful = true;
  try {
    const run = command.run(session, args);
    // A graceful command sees the abort through ctx.signal and ends by itself; others are cut off at once.
    const result = command.graceful
      ? await run // its own exit code: a daemon that stopped cleanly on SIGTERM exits 0
      : await Promise.race([run, aborted(controller.signal).then(() => 'aborted' as const)]);
    // A command that ignored the abort must not surface later as an unhandled rejection.
    if (result === 'aborted') run.catch(() => undefined);
    code = result === 'aborted' ? interruptCode() : (result ?? 0);
    if (result !== 'aborted') separator();
  } catch (e) {
    if (controller.signal.aborted || e instanceof AbortError) {
      code = controller.signal.aborted ? interruptCode() : 1;
      if (!controller.signal.aborted) printErrors(io, e);
    } else {
      if (!(e instanceof CliConnectError)) separator();
      printErrors(io, e);
      code = 1;
      graceful = !causedBy(e, TimeoutError);
    }
  } finally {
    options.interrupt?.removeEventListener('abort', onInterrupt);
  }
  await session.dispose(graceful);
  return code;
}

/** Runs the CLI as the process: argv, stdout, stderr, SIGINT/SIGTERM, exit code. */
function main(): void {
  const interrupt = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => (): void => {
    // A second signal while the first is being handled ends the process at once.
    if (interrupt.signal.aborted) process.exit(new InterruptReason(signal).exitCode);
    interrupt.abort(new InterruptReason(signal));
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));
  // A closed pipe (`libvirt-rpc snapshot-list dom | head -1`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const io: CliIo = {
    stdout: { write: (t) => void process.stdout.write(t) },
    stderr: { write: (t) => void process.stderr.write(t) },
    isTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    terminal: { stdin: process.stdin, stdout: process.stdout },
    env: process.env,
    // As virsh, ask at the terminal for what auth.conf lacks; with no terminal, ask nothing and fail clearly.
    credentials: process.stdin.isTTY === true
      ? terminalCredentials({ input: process.stdin, output: process.stderr, interrupt: () => process.kill(process.pid, 'SIGINT') })
      : undefined,
  };
  void runCli(process.argv.slice(2), io, { interrupt: interrupt.signal }).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}

// Run when executed (node dist/src/cli/main.js, the npm bin, or scripts/ts-run.cjs src/cli/main.ts), not when imported.
if (require.main === module || path.resolve(process.argv[1] ?? '') === __filename) main();

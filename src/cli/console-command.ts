/**
 * `console <domain> [--devname <string>] [--force] [--safe]`: the guest's console on this terminal, as virsh's
 * (tools/virsh-console.c): the terminal goes raw, keys go to the guest, the guest's output comes back, and
 * Ctrl+] (virsh's default escape, ^]) leaves. It also ends when the guest goes away (the daemon ends the stream).
 *
 * Unlike virsh, it also runs without a terminal (stdin a pipe), relaying bytes as they are, for scripts; the
 * escape byte 0x1d still ends it there.
 */
import { Domain } from '../index.js';
import type { CliCommand, CliTerminal } from './command.js';
import { CliCommandError } from './errors.js';
import { DOMAIN_OPTION, domainArg } from './lookup.js';
import { printExtra } from './output.js';

/** virsh's default escape character, ^] (Ctrl + ]). */
export const ESCAPE_BYTE = 0x1d;

/** Writes to the terminal, waiting for it to drain when it is full. */
function writeOut(term: CliTerminal, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (term.stdout.write(data)) resolve();
    else term.stdout.once('drain', () => resolve());
  });
}

/** `console <domain> [--devname] [--force] [--safe]`. */
export const consoleCommand: CliCommand = {
  name: 'console',
  summary: 'connect to the guest console',
  usage: 'console <domain> [--devname <string>] [--force] [--safe]',
  description: 'Connect the virtual serial console for the guest. Ctrl+] leaves.',
  options: [
    DOMAIN_OPTION,
    { name: 'devname', type: 'string', help: 'character device name' },
    { name: 'force', type: 'boolean', help: 'force console connection (disconnect already connected sessions)' },
    { name: 'safe', type: 'boolean', help: 'only connect if safe console handling is supported' },
  ],
  // SIGINT/SIGTERM end the session through ctx.signal, so the terminal is restored before exiting.
  graceful: true,
  async run(ctx, args) {
    const term = ctx.terminal;
    if (term === undefined) throw new CliCommandError('Cannot run interactive console without a terminal');
    const dom = await domainArg(ctx, args);
    const [state] = await dom.getState(0, ctx.callOptions());
    if (state === Domain.STATE_SHUTOFF) throw new CliCommandError('The domain is not running');
    let flags = 0;
    if (args.flag('force')) flags |= Domain.OPEN_CONSOLE_FORCE;
    if (args.flag('safe')) flags |= Domain.OPEN_CONSOLE_SAFE;
    const st = await dom.openConsole(args.string('devname') ?? null, flags, ctx.callOptions());
    printExtra(ctx, `Connected to domain '${dom.getName()}'\nEscape character is ^] (Ctrl + ])\n`);

    const stdin = term.stdin;
    const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
    let leave!: () => void;
    const left = new Promise<void>((r) => (leave = r));
    let sending = Promise.resolve();
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      const esc = bytes.indexOf(ESCAPE_BYTE);
      const keys = esc < 0 ? bytes : bytes.subarray(0, esc);
      if (keys.length) {
        // One send at a time; stdin waits meanwhile, so a fast paste cannot pile up.
        stdin.pause();
        sending = sending.then(() => st.send(keys)).then(() => void (esc < 0 && stdin.resume()), () => leave());
      }
      if (esc >= 0) leave();
    };
    const onAbort = (): void => leave();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (raw) stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();

    const output = (async () => {
      for (;;) {
        const item = await st.receive({ signal: ctx.signal });
        if (item === null) return; // the guest went away: the daemon ended the stream
        if (item instanceof Uint8Array) await writeOut(term, item);
      }
    })();
    output.catch(() => undefined);
    try {
      // The daemon's error (or a lost connection) rejects here and is reported by main.
      await Promise.race([left, output]);
    } finally {
      stdin.removeListener('data', onData);
      stdin.pause();
      if (raw) stdin.setRawMode!(false);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    await sending.catch(() => undefined);
    if (ctx.signal.aborted) {
      await st.abort().catch(() => undefined);
      const reason = ctx.signal.reason as { exitCode?: unknown } | undefined;
      return typeof reason?.exitCode === 'number' ? reason.exitCode : 130;
    }
    // Leaving by the escape key, or at the end of the guest's output: finish the stream (virsh's graceful
    // shutdown of the console). A receive still waiting then ends with StreamClosedError, which is expected.
    if (st.state === 'open') await st.finish({ timeout: ctx.global.timeout }).catch(() => st.abort().catch(() => undefined));
    printExtra(ctx, '\n');
  },
};

/**
 * Asking the person at the terminal for credentials, as virsh's default auth callback does
 * (virConnectAuthCallbackDefault in src/libvirt.c): the prompt, then a line read from the terminal, secrets
 * without echo. The line is gathered as bytes and handed over as a Uint8Array (zeroed by whoever uses it), so a
 * password never becomes a JavaScript string here. Only used when stdin is a terminal; without one the CLI
 * asks nothing and a missing credential is an error.
 */
import type { CredentialAnswer, CredentialRequest, CredentialsCallback } from '../index.js';

/** The terminal side: a readable TTY stream (process.stdin) and where prompts go (process.stderr). */
export interface PromptTerminal {
  input: NodeJS.ReadableStream & { setRawMode?(mode: boolean): unknown; isRaw?: boolean };
  output: { write(data: string | Uint8Array): unknown };
  /** What Ctrl-C does while raw mode keeps the terminal from raising SIGINT (main: the SIGINT handling). */
  interrupt(): void;
}

/** Longest line accepted from the terminal. */
const MAX_LINE = 4096;

/** Reads one line; resolves with its bytes, or null on Ctrl-D at an empty line. Echoes only when `echo`. */
export function readTerminalLine(t: PromptTerminal, prompt: string, echo: boolean): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(64);
    let n = 0;
    const wasRaw = t.input.isRaw === true;
    t.input.setRawMode?.(true);
    t.output.write(prompt);
    const finish = (value: Uint8Array | null, err?: Error): void => {
      t.input.removeListener('data', onData);
      t.input.setRawMode?.(wasRaw);
      t.input.pause();
      t.output.write('\n');
      const out = value === null ? null : buf.slice(0, n);
      buf.fill(0);
      if (err) reject(err);
      else resolve(out);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      try {
        for (const b of bytes) {
          if (b === 0x0d || b === 0x0a) return finish(buf);
          if (b === 0x03) {
            finish(null, new Error('interrupted'));
            t.interrupt();
            return;
          }
          if (b === 0x04) {
            if (n === 0) return finish(null);
            continue;
          }
          if (b === 0x7f || b === 0x08) {
            if (n === 0) continue;
            do n--; while (n > 0 && (buf[n] & 0xc0) === 0x80); // drop a whole UTF-8 character
            buf.fill(0, n);
            if (echo) t.output.write('\b \b');
            continue;
          }
          if (b === 0x15) {
            if (echo) t.output.write('\b \b'.repeat(n));
            buf.fill(0);
            n = 0;
            continue;
          }
          if (b < 0x20) continue;
          if (n === MAX_LINE) return finish(null, new Error(`the line is longer than ${MAX_LINE} bytes`));
          if (n === buf.length) {
            const bigger = new Uint8Array(buf.length * 2);
            bigger.set(buf);
            buf.fill(0);
            buf = bigger;
          }
          buf[n++] = b;
          if (echo) t.output.write(Uint8Array.of(b)); // the terminal puts UTF-8 sequences back together
        }
      } finally {
        if (typeof chunk !== 'string') chunk.fill(0);
      }
    };
    t.input.on('data', onData);
    t.input.resume();
  });
}

/**
 * The CLI's credentials callback on a terminal: SASL user names and passwords, SSH passwords, key passphrases
 * and keyboard-interactive answers (echoed as the request says), and whether to trust a new SSH host key.
 */
export function terminalCredentials(t: PromptTerminal): CredentialsCallback {
  let queue: Promise<unknown> = Promise.resolve();
  return (request: CredentialRequest): Promise<CredentialAnswer> => {
    // One question at a time on the one terminal.
    const next = queue.then(() => ask(t, request));
    queue = next.catch(() => undefined);
    return next;
  };
}

async function ask(t: PromptTerminal, request: CredentialRequest): Promise<CredentialAnswer> {
  switch (request.type) {
    case 'sasl-authname':
    case 'sasl-password':
      return readTerminalLine(t, request.prompt, request.echo);
    case 'passphrase':
    case 'password':
      return readTerminalLine(t, request.prompt, false);
    case 'keyboard-interactive':
      return readTerminalLine(t, request.prompt, request.echo);
    case 'host-key': {
      const line = await readTerminalLine(t, `${request.prompt} (yes/no): `, true);
      const answer = line === null ? '' : new TextDecoder().decode(line).trim().toLowerCase();
      return answer === 'yes' || answer === 'y';
    }
  }
}

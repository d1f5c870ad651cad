/**
 * The CLI's terminal prompts, on a scripted terminal: the password is not echoed and arrives as bytes, the user
 * name is, line editing works, Ctrl-D declines, Ctrl-C interrupts, raw mode is restored, and SSH requests are
 * answered too (a host key only by "yes").
 */
import { PassThrough } from 'node:stream';
import { readTerminalLine, terminalCredentials, type PromptTerminal } from '../../src/cli/prompt';

function terminal() {
  const input = new PassThrough() as PassThrough & { setRawMode(m: boolean): void; isRaw: boolean };
  const modes: boolean[] = [];
  input.isRaw = false;
  input.setRawMode = (m: boolean) => {
    modes.push(m);
    input.isRaw = m;
  };
  let shown = '';
  let interrupted = 0;
  const t: PromptTerminal = {
    input,
    output: { write: (d) => void (shown += typeof d === 'string' ? d : Buffer.from(d).toString('utf8')) },
    interrupt: () => void interrupted++,
  };
  return { t, input, modes, shown: () => shown, interrupted: () => interrupted };
}

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

test('a password is read in raw mode without echo, as bytes; raw mode is restored', async () => {
  const term = terminal();
  const p = readTerminalLine(term.t, 'Password: ', false);
  term.input.write('s3cr');
  term.input.write(Buffer.from('ét\r'));
  expect(text(await p)).toBe('s3crét');
  expect(term.shown()).toBe('Password: \n');
  expect(term.modes).toEqual([true, false]);
});

test('a user name is echoed; backspace removes a whole UTF-8 character; Ctrl-U clears the line', async () => {
  const term = terminal();
  const p = readTerminalLine(term.t, 'Name: ', true);
  term.input.write(Buffer.from('xy\x15alü\x7fi'));
  term.input.write('ce\n');
  expect(text(await p)).toBe('alice');
  expect(term.shown()).toContain('Name: xy');
  expect(term.shown().endsWith('ice\n')).toBe(true);
});

test('Ctrl-D on an empty line declines (null); Ctrl-C interrupts', async () => {
  const d = terminal();
  const p = readTerminalLine(d.t, 'Password: ', false);
  d.input.write('\x04');
  expect(await p).toBeNull();
  const c = terminal();
  const q = readTerminalLine(c.t, 'Password: ', false);
  c.input.write('abc\x03');
  await expect(q).rejects.toThrow('interrupted');
  expect(c.interrupted()).toBe(1);
  expect(c.modes).toEqual([true, false]);
});

test('the callback answers SASL and SSH requests, one question at a time', async () => {
  const term = terminal();
  const cb = terminalCredentials(term.t);
  const name = cb({ type: 'sasl-authname', prompt: 'User: ', echo: true, host: 'h', mechanism: 'PLAIN' });
  const pw = cb({ type: 'sasl-password', prompt: 'Pass: ', echo: false, authname: 'bob', host: 'h', mechanism: 'PLAIN' });
  const key = cb({ type: 'host-key', prompt: 'Trust key?', host: 'h', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:x', knownHostsFile: '/k' });
  term.input.write('bob\r');
  expect(text((await name) as Uint8Array)).toBe('bob');
  term.input.write('pw\r');
  expect(text((await pw) as Uint8Array)).toBe('pw');
  term.input.write('yes\r');
  expect(await key).toBe(true);
  expect(term.shown()).toBe('User: bob\nPass: \nTrust key? (yes/no): yes\n');
});

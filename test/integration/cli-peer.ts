/**
 * Shared by the cli-* integration tests: run one command line with virsh (bounded, C locale) and with our CLI
 * (in-process through runCli, which is what the `libvirt-rpc` program runs), and get both outcomes.
 */
import { execFile } from 'node:child_process';
import { runCli } from '../../src/cli/main';

/** A unique guest name for a test file (one helper for every test, see ../helpers/guest). */
export { guestName } from '../helpers/guest';

/** What a run printed and its exit code. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** virsh -c uri ...args. LC_ALL=C keeps its messages untranslated, as ours are. */
export function virsh(uri: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile('virsh', ['-c', uri, ...args], { timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** libvirt-rpc -c uri ...args, in-process. */
export async function ours(uri: string, args: readonly string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['-c', uri, ...args], {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    env: process.env,
  });
  return { code, stdout, stderr };
}

/** Both outcomes of one command line, virsh's first. */
export async function both(uri: string, args: readonly string[]): Promise<[Outcome, Outcome]> {
  return [await virsh(uri, args), await ours(uri, args)];
}

/** Runs virsh and fails with its stderr when it fails (for building test state). */
export async function virshOk(uri: string, args: readonly string[]): Promise<string> {
  const r = await virsh(uri, args);
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

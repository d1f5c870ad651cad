/**
 * Jest global setup of the integration project: starts the sandbox daemon, or reuses one that runs, and
 * registers this test run as a user of it (global-teardown releases it; see releaseSandbox for who stops it).
 * In CI (CI=true) a sandbox that cannot start fails the run with the reason; elsewhere the reason is printed
 * and handed to the tests, each of which then fails with it (test/helpers/sandbox.ts). Never a silent skip.
 */
import { startSandbox } from '../../scripts/sandbox/sandbox';
import { START_ERROR_ENV } from '../helpers/sandbox';

/** Shared with global-teardown (Jest runs both in the same process): whether this run started the sandbox. */
export const STARTED_KEY = Symbol.for('libvirt-rpc.sandbox.started-by-setup');

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  try {
    const { info, started } = await startSandbox({ holder: process.pid, log: (line) => process.stderr.write(`sandbox: ${line}\n`) });
    (globalThis as Record<symbol, unknown>)[STARTED_KEY] = started;
    process.stderr.write(`\nsandbox: ${started ? 'started' : 'reusing'} libvirt ${info.libvirtVersion} in ${info.root} (${Date.now() - t0} ms)\n`);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI === 'true' || process.env.CI === '1') {
      throw new Error(`The sandbox daemon could not start, so no integration test can run:\n${reason}`, { cause: err });
    }
    process.stderr.write(`\n*** sandbox: could not start; every integration test will fail with this reason ***\n${reason}\n`);
    process.env[START_ERROR_ENV] = reason.split('\n')[0];
  }
}

/**
 * Jest global teardown of the integration project: releases the sandbox. It is stopped only when a test run
 * started it (this one, or a concurrent one that has finished) and no other test run still uses it; a
 * sandbox started by hand (`npm run sandbox -- start`), or any with LIBVIRT_RPC_SANDBOX_KEEP=1, keeps running.
 */
import { releaseSandbox } from '../../scripts/sandbox/sandbox';
import { STARTED_KEY } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const keep = process.env.LIBVIRT_RPC_SANDBOX_KEEP === '1';
  const log = (line: string) => process.stderr.write(`sandbox: ${line}\n`);
  const outcome = await releaseSandbox({ holder: process.pid, stop: !keep, log });
  if (outcome === 'stopped') log('stopped');
  else if ((globalThis as Record<symbol, unknown>)[STARTED_KEY] === true) {
    log(outcome === 'in use' ? 'left running: another test run still uses it' : 'left running (LIBVIRT_RPC_SANDBOX_KEEP=1, or reused by a start by hand)');
  }
}

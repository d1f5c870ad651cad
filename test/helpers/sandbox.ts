/**
 * The sandbox daemon, as integration tests see it. test/integration/global-setup.ts starts it (or reuses a
 * running one); tests read its URIs, keys and guest from here. Each test that needs a guest of its own (every
 * snapshot or checkpoint test: see FIELD-NOTES) makes one with {@link createGuest} and removes it afterwards.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGuest as createGuestIn, CreateGuestOptions, GuestInfo, removeGuest as removeGuestIn } from '../../scripts/sandbox/guest';
import { isRunning } from '../../scripts/sandbox/proc';
import type { SandboxInfo } from '../../scripts/sandbox/sandbox';
import { sandboxRoot } from '../../scripts/sandbox/setup';

export type { SandboxInfo, GuestInfo, CreateGuestOptions };

/** Set by global-setup when the sandbox could not start outside CI: the reason, for every test to report. */
export const START_ERROR_ENV = 'LIBVIRT_RPC_SANDBOX_START_ERROR';

/**
 * The running sandbox's info (from `<root>/info.json`; root is `$LIBVIRT_RPC_SANDBOX_DIR` or
 * /tmp/libvirt-rpc-sandbox). Throws a clear error when the sandbox is not running.
 */
export function sandbox(): SandboxInfo {
  const root = sandboxRoot();
  const file = path.join(root, 'info.json');
  const hint = process.env[START_ERROR_ENV]
    ? `it failed to start: ${process.env[START_ERROR_ENV]}`
    : 'start it with `npm run sandbox -- start` (the integration project\'s global setup does)';
  let info: SandboxInfo;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8')) as SandboxInfo;
  } catch {
    throw new Error(`The libvirt-rpc sandbox is not running (no ${file}); ${hint}`);
  }
  if (!isRunning(info.libvirtdPid, 'libvirtd')) {
    throw new Error(`The libvirt-rpc sandbox in ${root} is not running (libvirtd pid ${info.libvirtdPid} is gone); ${hint}`);
  }
  return info;
}

/** Creates (and by default starts) a fresh guest `name` in the sandbox: its own qcow2 disk, TCG, no OS. */
export function createGuest(name: string, opts?: CreateGuestOptions): Promise<GuestInfo> {
  return createGuestIn(sandbox(), name, opts);
}

/** Destroys and undefines guest `name` (with snapshot and checkpoint metadata) and deletes its disk folder. */
export function removeGuest(name: string): Promise<void> {
  return removeGuestIn(sandbox(), name);
}

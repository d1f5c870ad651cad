/**
 * Debian's Chromium, headless, driven by playwright-core (which downloads no browser). The flags are the ones
 * that work on these machines: no sandbox (we run as root), no GPU, and none of the background connections
 * that a closed network refuses; each launch gets a fresh profile folder, removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** The browser binary: Debian's, unless LIBVIRT_RPC_CHROMIUM names another. */
export const CHROMIUM = process.env.LIBVIRT_RPC_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the browser tests need Debian's Chromium)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 640 },
    timeout: 60_000,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

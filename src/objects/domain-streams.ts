/**
 * A domain's streams: its consoles and channels (duplex byte streams to the guest) and screenshots
 * (virDomainOpenConsole, virDomainOpenChannel, virDomainScreenshot). Domain's methods of the same names call
 * these.
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { InvalidArgumentError, StreamError } from '../errors.js';
import type { RemoteConnection } from '../protocol/connection.js';
import { Stream } from '../protocol/stream.js';
import { checkFlags, type CallOptions } from './support.js';

/** What `Domain.screenshot` returns: the image's MIME type (e.g. `image/x-portable-pixmap`) and its bytes. */
export interface Screenshot {
  mimeType: string;
  data: Uint8Array;
}

/** Options of `Domain.screenshot`. */
export interface ScreenshotOptions extends CallOptions {
  /** Refuse images larger than this many bytes (default 256 MiB); the stream is aborted then. */
  maxBytes?: number;
}

/** Default bound on a screenshot's size: far above a 4K PPM (about 25 MB). */
export const SCREENSHOT_MAX_BYTES = 256 * 1024 * 1024;

function optionalName(name: string | null | undefined, what: string): string | null {
  if (name === null || name === undefined) return null;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${what} must be a non-empty string or null`);
  return name;
}

/**
 * Opens the console `devname` (null: the first console or serial port) as a duplex stream
 * (DOMAIN_OPEN_CONSOLE); `flags`: `Domain.OPEN_CONSOLE_FORCE`, `Domain.OPEN_CONSOLE_SAFE`.
 */
export function openConsole(raw: RemoteConnection, dom: remote.remote_nonnull_domain, devname: string | null | undefined, flags: number, opts?: CallOptions): Promise<Stream<void>> {
  const args = { dom, dev_name: optionalName(devname, 'devname'), flags: checkFlags(flags) };
  return Stream.open(raw.rpc, R.domainOpenConsole, args, opts);
}

/** Opens the channel `name` (e.g. `org.qemu.guest_agent.0`) as a duplex stream (DOMAIN_OPEN_CHANNEL). */
export function openChannel(raw: RemoteConnection, dom: remote.remote_nonnull_domain, name: string | null | undefined, flags: number, opts?: CallOptions): Promise<Stream<void>> {
  const args = { dom, name: optionalName(name, 'name'), flags: checkFlags(flags) };
  return Stream.open(raw.rpc, R.domainOpenChannel, args, opts);
}

/** Takes a screenshot of `screen` (DOMAIN_SCREENSHOT) and reads the whole image. */
export async function screenshot(raw: RemoteConnection, dom: remote.remote_nonnull_domain, screen: number, flags: number, opts: ScreenshotOptions = {}): Promise<Screenshot> {
  if (!Number.isInteger(screen) || screen < 0 || screen > 0xffffffff) throw new InvalidArgumentError(`screen must be an unsigned integer, not ${String(screen)}`);
  const max = opts.maxBytes ?? SCREENSHOT_MAX_BYTES;
  const callOpts: CallOptions = { signal: opts.signal, timeout: opts.timeout };
  const st = await Stream.open(raw.rpc, R.domainScreenshot, { dom, screen, flags: checkFlags(flags) }, callOpts);
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const item = await st.receive(callOpts);
      if (item === null) break;
      if (!(item instanceof Uint8Array)) continue; // not sparse: never a hole
      total += item.length;
      if (total > max) throw new StreamError(`the screenshot is larger than ${max} bytes`);
      parts.push(item);
    }
    await st.finish(callOpts);
  } catch (e) {
    await st.abort().catch(() => undefined);
    throw e;
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  // remoteDomainScreenshot hands the daemon's MIME string on as it came; the QEMU driver always sets one.
  return { mimeType: st.reply.mime ?? 'application/octet-stream', data };
}

/**
 * The stream commands, as virsh 9.0 has them: `vol-upload` and `vol-download` (tools/virsh-volume.c) and
 * `screenshot` (tools/virsh-domain.c), with a progress line on stderr for long transfers. `console` is in
 * ./console-command.
 */
import * as fs from 'node:fs';
import { receiveItems, RemoteError, sendItems, StorageVol, type Connect, type StoragePool, type TransferProgress } from '../index.js';
import { fileSink, fileSource } from '../node/files.js';
import type { CliArgs, CliCommand, CliContext } from './command.js';
import { CliCommandError } from './errors.js';
import { DOMAIN_OPTION, domainArg } from './lookup.js';
import { printExtra, printJson } from './output.js';
import { Progress } from './progress.js';

/** Length of a UUID string; virsh tries a pool UUID lookup only for this length. */
const UUID_STRING_LENGTH = 36;

/**
 * Lookups the way virsh tries them, one after the other: a daemon error means "not this way", and the last one
 * is kept, since virsh reports it after its own line (it does not reset libvirt's error between the tries).
 */
class Lookups {
  last: RemoteError | undefined;

  async try<T>(fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      this.last = e;
      return null;
    }
  }
}

/** The pool `text` names: by UUID when it has a UUID's length, then by name (virshCommandOptPoolBy). */
async function lookupPool(ctx: CliContext, conn: Connect, text: string): Promise<StoragePool> {
  const l = new Lookups();
  let pool: StoragePool | null = null;
  if (text.length === UUID_STRING_LENGTH) pool = await l.try(() => conn.getStoragePoolByUUID(text, ctx.callOptions()));
  pool ??= await l.try(() => conn.getStoragePoolByName(text, ctx.callOptions()));
  if (pool === null) throw new CliCommandError(`failed to get pool '${text}'`, l.last);
  return pool;
}

/**
 * The volume `--vol` names, as virshCommandOptVolBy finds it: with `--pool`, by name in that (active) pool; then
 * by key; then by path. With `--pool`, a volume found by key or path must be in that pool.
 */
export async function volArg(ctx: CliContext, args: CliArgs): Promise<StorageVol> {
  const conn = await ctx.connect();
  const text = args.requireString('vol');
  const poolName = args.string('pool');
  let pool: StoragePool | null = null;
  if (poolName !== undefined) {
    pool = await lookupPool(ctx, conn, poolName);
    if (!(await pool.isActive(ctx.callOptions()))) throw new CliCommandError(`pool '${poolName}' is not active`);
  }
  const l = new Lookups();
  let vol: StorageVol | null = null;
  if (pool !== null) vol = await l.try(() => pool.getVolumeByName(text, ctx.callOptions()));
  vol ??= await l.try(() => conn.getStorageVolumeByKey(text, ctx.callOptions()));
  vol ??= await l.try(() => conn.getStorageVolumeByPath(text, ctx.callOptions()));
  if (vol === null) {
    throw new CliCommandError(pool !== null ? `failed to get vol '${text}'` : `failed to get vol '${text}', specifying --pool might help`, l.last);
  }
  if (pool !== null && vol.getPoolName() !== pool.getName()) {
    throw new CliCommandError(`Requested volume '${text}' is not in pool '${pool.getName()}'`);
  }
  return vol;
}

const VOL_OPTIONS = [
  { name: 'vol', type: 'string', positional: true, required: true, help: 'vol name, key or path' },
  { name: 'file', type: 'string', positional: true, required: true, help: 'file' },
  { name: 'pool', type: 'string', help: 'pool name or uuid' },
] as const;

/** What `vol-upload --json` and `vol-download --json` print. */
export interface VolTransferJson {
  pool: string;
  volume: string;
  file: string;
  /** Bytes of the volume covered: data and holes. */
  bytes: number;
  /** Bytes that travelled as data. */
  dataBytes: number;
  /** Bytes that travelled as holes (sparse transfers). */
  holeBytes: number;
}

function transferJson(vol: StorageVol, file: string, p: TransferProgress): VolTransferJson {
  return { pool: vol.getPoolName(), volume: vol.getName(), file, bytes: p.bytes, dataBytes: p.dataBytes, holeBytes: p.holeBytes };
}

/** The progress line of a transfer of `available` bytes, of which `--length` (when given) takes at most that many. */
function transferProgress(ctx: CliContext, args: CliArgs, available: number): Progress {
  const length = args.integer('length') ?? 0;
  const total = length > 0 ? Math.min(length, available) : available;
  return new Progress(ctx.stderr, (ctx.stderrIsTTY ?? false) && !ctx.global.quiet, total, () => ctx.now().getTime());
}

/** Options every transfer passes: no per-call bound on the whole transfer, but on each wait for the daemon. */
function transferOptions(ctx: CliContext, args: CliArgs, progress: Progress) {
  return {
    offset: args.integer('offset') ?? 0,
    length: args.integer('length') ?? 0,
    sparse: args.flag('sparse'),
    signal: ctx.signal,
    timeout: ctx.global.timeout,
    onProgress: (p: TransferProgress) => progress.update(p.bytes),
  };
}

/** `vol-upload <vol> <file> [--pool] [--offset] [--length] [--sparse]`. */
export const volUpload: CliCommand = {
  name: 'vol-upload',
  summary: 'upload file contents to a volume',
  usage: 'vol-upload <vol> <file> [--pool <string>] [--offset <number>] [--length <number>] [--sparse]',
  description: 'Upload file contents to a volume. With --sparse, runs of zero blocks in the file travel as holes.',
  options: [
    ...VOL_OPTIONS,
    { name: 'offset', type: 'integer', help: 'volume offset to upload to' },
    { name: 'length', type: 'integer', help: 'amount of data to upload' },
    { name: 'sparse', type: 'boolean', help: 'preserve sparseness of volume' },
  ],
  async run(ctx, args) {
    const vol = await volArg(ctx, args);
    const file = args.requireString('file');
    const name = args.requireString('vol');
    // virsh prints its own line only, not the system's reason.
    const source = await fileSource(file).catch(() => {
      throw new CliCommandError(`cannot read ${file}`);
    });
    const progress = transferProgress(ctx, args, source.size);
    const opts = transferOptions(ctx, args, progress);
    const flags = opts.sparse ? StorageVol.VOL_UPLOAD_SPARSE_STREAM : 0;
    const st = await vol.openUpload(opts.offset, opts.length, flags, ctx.callOptions()).catch((e: unknown) => {
      throw new CliCommandError(`cannot upload to volume ${name}`, e);
    });
    try {
      const moved = await sendItems(st, source, opts).catch((e: unknown) => {
        throw new CliCommandError(`cannot send data to volume ${name}`, e);
      });
      await st.finish(ctx.callOptions()).catch((e: unknown) => {
        throw new CliCommandError(`cannot close volume ${name}`, e);
      });
      progress.end();
      if (ctx.global.json) printJson(ctx, transferJson(vol, file, moved));
    } finally {
      progress.end();
    }
  },
};

/** `vol-download <vol> <file> [--pool] [--offset] [--length] [--sparse]`. */
export const volDownload: CliCommand = {
  name: 'vol-download',
  summary: 'download volume contents to a file',
  usage: 'vol-download <vol> <file> [--pool <string>] [--offset <number>] [--length <number>] [--sparse]',
  description: 'Download volume contents to a file. With --sparse, holes of the volume stay holes in the file.',
  options: [
    ...VOL_OPTIONS,
    { name: 'offset', type: 'integer', help: 'volume offset to download from' },
    { name: 'length', type: 'integer', help: 'amount of data to download' },
    { name: 'sparse', type: 'boolean', help: 'preserve sparseness of volume' },
  ],
  async run(ctx, args) {
    const vol = await volArg(ctx, args);
    const file = args.requireString('file');
    const name = args.requireString('vol');
    const info = await vol.getInfo(0, ctx.callOptions());
    const progress = transferProgress(ctx, args, Math.max(0, info.capacity - (args.integer('offset') ?? 0)));
    const opts = transferOptions(ctx, args, progress);
    const sink = await fileSink(file).catch(() => {
      throw new CliCommandError(`cannot create ${file}`);
    });
    const flags = opts.sparse ? StorageVol.VOL_DOWNLOAD_SPARSE_STREAM : 0;
    const st = await vol.openDownload(opts.offset, opts.length, flags, ctx.callOptions()).catch(async (e: unknown) => {
      await sink.abort(e);
      throw new CliCommandError(`cannot download from volume ${name}`, e);
    });
    try {
      const moved = await receiveItems(st, sink, opts).catch((e: unknown) => {
        throw new CliCommandError(`cannot receive data from volume ${name}`, e);
      });
      // virsh closes the file, then finishes the stream; a failure of either removes a file it created.
      await sink.close().catch(async (e: unknown) => {
        await st.abort().catch(() => undefined);
        await sink.abort(e);
        throw new CliCommandError(`cannot close file ${file}`, e);
      });
      await st.finish(ctx.callOptions()).catch(async (e: unknown) => {
        await sink.abort(e);
        throw new CliCommandError(`cannot close volume ${name}`, e);
      });
      progress.end();
      if (ctx.global.json) printJson(ctx, transferJson(vol, file, moved));
    } finally {
      progress.end();
    }
  },
};

/** What `screenshot --json` prints. */
export interface ScreenshotJson {
  domain: string;
  file: string;
  mimeType: string;
  bytes: number;
}

/** virshGenFileName: `<domain>-<YYYY-MM-DD-HH:MM:SS><ext>`, with the extension the MIME type implies. */
export function screenshotFileName(domain: string, mime: string, now: Date): string {
  const ext = mime === 'image/x-portable-pixmap' ? '.ppm' : mime === 'image/png' ? '.png' : '';
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
  return `${domain}-${stamp}${ext}`;
}

/** `screenshot <domain> [--file <string>] [--screen <number>]`. */
export const screenshotCommand: CliCommand = {
  name: 'screenshot',
  summary: 'take a screenshot of a current domain console and store it into a file',
  usage: 'screenshot <domain> [--file <string>] [--screen <number>]',
  description: 'screenshot of a current domain console and store it into a file',
  options: [
    DOMAIN_OPTION,
    { name: 'file', type: 'string', positional: true, help: 'where to store the screenshot' },
    { name: 'screen', type: 'integer', help: 'ID of a screen to take screenshot of' },
  ],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const name = dom.getName();
    const shot = await dom.screenshot(args.integer('screen') ?? 0, 0, ctx.callOptions()).catch((e: unknown) => {
      throw new CliCommandError(`could not take a screenshot of ${name}`, e);
    });
    const file = args.string('file') ?? screenshotFileName(name, shot.mimeType, ctx.now());
    await fs.promises.writeFile(file, shot.data).catch(() => {
      throw new CliCommandError(`cannot create file ${file}`);
    });
    if (ctx.global.json) printJson(ctx, { domain: name, file, mimeType: shot.mimeType, bytes: shot.data.length } satisfies ScreenshotJson);
    printExtra(ctx, `Screenshot saved to ${file}, with type of ${shot.mimeType}`);
  },
};

/** Every stream command but `console`. */
export const streamCommands: readonly CliCommand[] = [volUpload, volDownload, screenshotCommand];

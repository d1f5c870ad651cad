/**
 * Finding what a command names, the way virsh does: a domain by id, UUID or name (virshLookupDomainBy), a
 * snapshot by name or `--current` (virshLookupSnapshot), a checkpoint by name (virshLookupCheckpoint).
 */
import { RemoteError, type Domain, type DomainCheckpoint, type DomainSnapshot } from '../index.js';
import { CliUsageError, type CliArgs, type CliContext } from './command.js';
import { CliCommandError } from './errors.js';

/** Length of a UUID string (VIR_UUID_STRING_BUFLEN - 1); virsh tries a UUID lookup only for this length. */
const UUID_STRING_LENGTH = 36;

/**
 * The domain `text` names: a running domain's id when it is a non-negative decimal number, then a UUID when it
 * has a UUID's length, then a name. As in virsh, the daemon's lookup errors are dropped for one line
 * ("failed to get domain 'x'"); a failure of the connection itself (timeout, abort, closed) is not masked.
 */
export async function lookupDomain(ctx: CliContext, text: string): Promise<Domain> {
  const conn = await ctx.connect();
  const attempt = async (fn: () => Promise<Domain>): Promise<Domain | null> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof RemoteError) return null;
      throw e;
    }
  };
  let dom: Domain | null = null;
  if (/^\d+$/.test(text) && Number(text) <= 0x7fffffff) dom = await attempt(() => conn.getDomainByID(Number(text), ctx.callOptions()));
  if (dom === null && text.length === UUID_STRING_LENGTH && /^[0-9a-fA-F-]+$/.test(text)) {
    dom = await attempt(() => conn.getDomainByUUID(text, ctx.callOptions()));
  }
  dom ??= await attempt(() => conn.getDomainByName(text, ctx.callOptions()));
  if (dom === null) throw new CliCommandError(`failed to get domain '${text}'`);
  return dom;
}

/** The `--domain` option every snapshot and checkpoint command has (virsh's VIRSH_COMMON_OPT_DOMAIN_FULL). */
export const DOMAIN_OPTION = { name: 'domain', type: 'string', positional: true, required: true, help: 'domain name, id or uuid' } as const;

/** Looks up the domain named by `--domain`. */
export function domainArg(ctx: CliContext, args: CliArgs): Promise<Domain> {
  return lookupDomain(ctx, args.requireString('domain'));
}

/**
 * The snapshot named by option `arg` or, with `--current`, the domain's current snapshot (virshLookupSnapshot).
 * With `exclusive`, giving both is an error. Giving neither is an error.
 */
export async function snapshotArg(ctx: CliContext, args: CliArgs, dom: Domain, arg: string, exclusive = true): Promise<DomainSnapshot> {
  const current = args.flag('current');
  const name = args.string(arg);
  if (exclusive && current && name !== undefined) throw new CliUsageError(`--${arg} and --current are mutually exclusive`);
  if (name !== undefined) return dom.getSnapshotByName(name, ctx.callOptions());
  if (current) return dom.currentSnapshot(0, ctx.callOptions());
  throw new CliUsageError(`--${arg} or --current is required`);
}

/** The checkpoint named by option `arg` (virshLookupCheckpoint: there is no `--current` for checkpoints). */
export async function checkpointArg(ctx: CliContext, args: CliArgs, dom: Domain, arg: string): Promise<DomainCheckpoint> {
  const name = args.string(arg);
  if (name === undefined) throw new CliUsageError(`--${arg} is required`);
  return dom.getCheckpointByName(name, ctx.callOptions());
}

/** Throws virsh's "Options --a and --b are mutually exclusive" when both are set (VSH_EXCLUSIVE_OPTIONS). */
export function exclusive(args: CliArgs, a: string, b: string): void {
  if (args.has(a) && args.has(b)) throw new CliUsageError(`Options --${a} and --${b} are mutually exclusive`);
}

/** Calls with a bounded number in flight (the daemon works on 5 calls of a client at once), keeping order. */
export async function mapBounded<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, window = 16): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
  return out;
}

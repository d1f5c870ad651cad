/**
 * `snapshot-list`, as virsh 9.0 has it (cmdSnapshotList and virshSnapshotListCollect): one listing call with
 * libvirt's LIST_* flags, parents looked up for `--tree`, the `--from` snapshot added as the tree's root,
 * then sorted by name (case-insensitively) unless `--topological`.
 */
import { DomainSnapshot, RemoteError, XmlError, type Domain, type SnapshotDescription } from '../index.js';
import { CliUsageError, type CliArgs, type CliCommand, type CliContext } from './command.js';
import { formatCreationTime, formatTable, formatTree, sortByName } from './format.js';
import { snapshotItem, unixSeconds, type SnapshotListJson } from './json.js';
import { DOMAIN_OPTION, domainArg, mapBounded, snapshotArg } from './lookup.js';
import { printJson } from './output.js';

/** A listed snapshot; `parent` is known only when a tree is drawn (undefined otherwise). */
interface Listed {
  snap: DomainSnapshot;
  parent?: string | null;
}

/** virsh's filter options, which `--tree` refuses, and their LIST_* flags. */
const FILTERS: readonly [string, number][] = [
  ['leaves', DomainSnapshot.LIST_LEAVES],
  ['no-leaves', DomainSnapshot.LIST_NO_LEAVES],
  ['inactive', DomainSnapshot.LIST_INACTIVE],
  ['active', DomainSnapshot.LIST_ACTIVE],
  ['disk-only', DomainSnapshot.LIST_DISK_ONLY],
  ['internal', DomainSnapshot.LIST_INTERNAL],
  ['external', DomainSnapshot.LIST_EXTERNAL],
];

/** The LIST_* flags the options ask for, after virsh's checks of which options go together. */
export function snapshotListFlags(args: CliArgs): number {
  const tree = args.flag('tree');
  const pairs: [string, string][] = [['tree', 'name'], ['parent', 'roots'], ['parent', 'tree'], ['roots', 'tree'], ['roots', 'from'], ['roots', 'current']];
  for (const [a, b] of pairs) {
    if (args.has(a) && args.has(b)) throw new CliUsageError(`Options --${a} and --${b} are mutually exclusive`);
  }
  let flags = 0;
  for (const [option, flag] of FILTERS) {
    if (!args.flag(option)) continue;
    if (tree) throw new CliUsageError(`--${option} and --tree are mutually exclusive`);
    flags |= flag;
  }
  if (args.flag('topological')) flags |= DomainSnapshot.LIST_TOPOLOGICAL;
  if (args.flag('roots')) flags |= DomainSnapshot.LIST_ROOTS;
  if (args.flag('metadata')) flags |= DomainSnapshot.LIST_METADATA;
  if (args.flag('no-metadata')) flags |= DomainSnapshot.LIST_NO_METADATA;
  if (args.flag('descendants')) {
    if (!args.has('from') && !args.flag('current')) throw new CliUsageError('--descendants requires either --from or --current');
    flags |= DomainSnapshot.LIST_DESCENDANTS;
  }
  return flags;
}

/** Whether a failure only means "skip this row" (virsh `continue`s when a snapshot's XML cannot be had). */
function skippable(e: unknown): boolean {
  return e instanceof RemoteError || e instanceof XmlError;
}

/** Collects the snapshots to show (virshSnapshotListCollect with the listing APIs of libvirt 0.9.13 and later). */
async function collect(ctx: CliContext, dom: Domain, from: DomainSnapshot | null, flags: number, tree: boolean): Promise<Listed[]> {
  const snaps = from !== null ? await from.listAllChildren(flags, ctx.callOptions()) : await dom.listAllSnapshots(flags, ctx.callOptions());
  let listed: Listed[] = snaps.map((snap) => ({ snap }));
  if (tree) {
    listed = await mapBounded(snaps, async (snap) => ({ snap, parent: (await snap.getParent(ctx.callOptions()))?.getName() ?? null }));
    // With --from, the tree is drawn from that snapshot: it joins the list as its only root.
    if (from !== null) listed.push({ snap: from, parent: null });
  }
  return (flags & DomainSnapshot.LIST_TOPOLOGICAL) !== 0 ? listed : sortByName(listed, (l) => l.snap.getName());
}

/** Each listed snapshot's description, null where it could not be had (virsh leaves such rows out). */
function describeAll(ctx: CliContext, listed: readonly Listed[]): Promise<(SnapshotDescription | null)[]> {
  return mapBounded(listed, async ({ snap }) => {
    try {
      return await snap.describe(0, ctx.callOptions());
    } catch (e) {
      if (skippable(e)) return null;
      throw e;
    }
  });
}

/** The current snapshot's name, or null when there is none. */
async function currentName(ctx: CliContext, dom: Domain): Promise<string | null> {
  try {
    return (await dom.currentSnapshot(0, ctx.callOptions())).getName();
  } catch (e) {
    if (e instanceof RemoteError && e.remote.codeName === 'VIR_ERR_NO_DOMAIN_SNAPSHOT') return null;
    throw e;
  }
}

/** `snapshot-list domain [filters] [{--parent | --roots | [{--tree | --name}]}] [--topological] [...]`. */
export const snapshotList: CliCommand = {
  name: 'snapshot-list',
  summary: 'List snapshots for a domain',
  usage: 'snapshot-list <domain> [--parent] [--roots] [--leaves] [--no-leaves] [--metadata] [--no-metadata] [--inactive] [--active] [--disk-only] [--internal] [--external] [--tree] [--from <string>] [--current] [--descendants] [--name] [--topological]',
  description: 'Snapshot List',
  options: [
    DOMAIN_OPTION,
    { name: 'parent', type: 'boolean', help: 'add a column showing parent snapshot' },
    { name: 'roots', type: 'boolean', help: 'list only snapshots without parents' },
    { name: 'leaves', type: 'boolean', help: 'list only snapshots without children' },
    { name: 'no-leaves', type: 'boolean', help: 'list only snapshots that are not leaves (with children)' },
    { name: 'metadata', type: 'boolean', help: 'list only snapshots that have metadata that would prevent undefine' },
    { name: 'no-metadata', type: 'boolean', help: 'list only snapshots that have no metadata managed by libvirt' },
    { name: 'inactive', type: 'boolean', help: 'filter by snapshots taken while inactive' },
    { name: 'active', type: 'boolean', help: 'filter by snapshots taken while active (full system snapshots)' },
    { name: 'disk-only', type: 'boolean', help: 'filter by disk-only snapshots' },
    { name: 'internal', type: 'boolean', help: 'filter by internal snapshots' },
    { name: 'external', type: 'boolean', help: 'filter by external snapshots' },
    { name: 'tree', type: 'boolean', help: 'list snapshots in a tree' },
    { name: 'from', type: 'string', positional: true, help: 'limit list to children of given snapshot' },
    { name: 'current', type: 'boolean', help: 'limit list to children of current snapshot' },
    { name: 'descendants', type: 'boolean', help: 'with --from, list all descendants' },
    { name: 'name', type: 'boolean', help: 'list snapshot names only' },
    { name: 'topological', type: 'boolean', help: 'sort list topologically rather than by name' },
  ],
  async run(ctx, args) {
    const flags = snapshotListFlags(args);
    const tree = args.flag('tree');
    const dom = await domainArg(ctx, args);
    const from = args.has('from') || args.flag('current') ? await snapshotArg(ctx, args, dom, 'from') : null;
    const listed = await collect(ctx, dom, from, flags, tree);

    if (ctx.global.json) {
      const [descriptions, current] = await Promise.all([describeAll(ctx, listed), currentName(ctx, dom)]);
      const snapshots = descriptions.filter((d): d is SnapshotDescription => d !== null).map((d) => snapshotItem(d, d.name === current));
      printJson(ctx, { domain: dom.getName(), snapshots } satisfies SnapshotListJson);
      return;
    }
    if (tree) {
      ctx.stdout.write(formatTree(listed.map((l) => ({ name: l.snap.getName(), parent: l.parent ?? null }))));
      return;
    }
    if (args.flag('name')) {
      ctx.stdout.write(listed.map((l) => `${l.snap.getName()}\n`).join(''));
      return;
    }
    const withParent = args.flag('parent');
    const rows: string[][] = [];
    for (const d of await describeAll(ctx, listed)) {
      const seconds = d === null ? null : unixSeconds(d.creationTime);
      if (d === null || d.state === null || seconds === null) continue;
      const row = [d.name, formatCreationTime(seconds), d.state];
      if (withParent) row.push(d.parent ?? '');
      rows.push(row);
    }
    const headers = withParent ? ['Name', 'Creation Time', 'State', 'Parent'] : ['Name', 'Creation Time', 'State'];
    // virsh -q prints the table without its header (vshTablePrintToStdout).
    ctx.stdout.write(formatTable(headers, rows, !ctx.global.quiet));
  },
};

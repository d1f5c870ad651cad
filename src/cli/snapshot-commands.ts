/**
 * `snapshot-info`, `snapshot-dumpxml`, `snapshot-revert` and `snapshot-delete`, as virsh 9.0 has them
 * (tools/virsh-snapshot.c), and the list of every snapshot command.
 */
import { DomainSnapshot, RemoteError, UnsafeSnapshotDeleteError } from '../index.js';
import type { CliCommand, CliContext } from './command.js';
import { CliCommandError, withContext } from './errors.js';
import { formatInfo } from './format.js';
import { snapshotPlace, type ParentJson, type SnapshotActionJson, type SnapshotInfoJson, type XmlJson } from './json.js';
import { DOMAIN_OPTION, domainArg, snapshotArg } from './lookup.js';
import { printExtra, printJson } from './output.js';
import { snapshotCreateAs, snapshotCurrent } from './snapshot-create.js';
import { snapshotList } from './snapshot-list.js';

const SNAPSHOTNAME = { name: 'snapshotname', type: 'string', positional: true, help: 'snapshot name' } as const;

/** `snapshot-info domain {snapshot | --current}`. */
export const snapshotInfo: CliCommand = {
  name: 'snapshot-info',
  summary: 'snapshot information',
  usage: 'snapshot-info <domain> [--snapshotname <string>] [--current]',
  description: 'Returns basic information about a snapshot.',
  options: [DOMAIN_OPTION, SNAPSHOTNAME, { name: 'current', type: 'boolean', help: 'info on current snapshot' }],
  async run(ctx, args) {
    const opts = ctx.callOptions();
    const dom = await domainArg(ctx, args);
    const snap = await snapshotArg(ctx, args, dom, 'snapshotname');
    // virsh: a daemon that cannot say whether the snapshot is current gets "no".
    const current = await snap.isCurrent(0, opts).catch((e: unknown) => {
      if (e instanceof RemoteError) return false;
      throw e;
    });
    const d = await snap.describe(0, opts);
    const children = await snap.numOfChildSnapshots(0, opts);
    const descendants = await snap.numOfChildSnapshots(DomainSnapshot.LIST_DESCENDANTS, opts);
    // virsh falls back to counting snapshots with metadata, then leaves the line out.
    let metadata: boolean | null;
    try {
      metadata = await snap.hasMetadata(0, opts);
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      const count = await dom.numOfSnapshots(DomainSnapshot.LIST_METADATA, opts).catch((e2: unknown) => {
        if (e2 instanceof RemoteError) return -1;
        throw e2;
      });
      metadata = count < 0 ? null : count > 0;
    }
    const info: SnapshotInfoJson = {
      name: snap.getName(),
      domain: dom.getName(),
      current,
      state: d.state,
      location: snapshotPlace(d),
      parent: d.parent,
      children,
      descendants,
      metadata,
    };
    if (ctx.global.json) {
      printJson(ctx, info);
      return;
    }
    const lines: [string, string | number][] = [
      ['Name:', info.name],
      ['Domain:', info.domain],
      ['Current:', current ? 'yes' : 'no'],
      ['State:', d.state ?? ''],
      ['Location:', info.location],
      ['Parent:', d.parent ?? '-'],
      ['Children:', children],
      ['Descendants:', descendants],
    ];
    if (metadata !== null) lines.push(['Metadata:', metadata ? 'yes' : 'no']);
    ctx.stdout.write(formatInfo(lines));
  },
};

/** `snapshot-dumpxml [--security-info] domain snapshot`. */
export const snapshotDumpxml: CliCommand = {
  name: 'snapshot-dumpxml',
  summary: 'Dump XML for a domain snapshot',
  usage: 'snapshot-dumpxml <domain> <snapshotname> [--security-info]',
  description: 'Snapshot Dump XML',
  options: [
    DOMAIN_OPTION,
    { ...SNAPSHOTNAME, required: true },
    { name: 'security-info', type: 'boolean', help: 'include security sensitive information in XML dump' },
  ],
  async run(ctx, args) {
    const flags = args.flag('security-info') ? DomainSnapshot.XML_SECURE : 0;
    const name = args.requireString('snapshotname');
    const dom = await domainArg(ctx, args);
    const snap = await dom.getSnapshotByName(name, ctx.callOptions());
    const xml = await snap.getXMLDescription(flags, ctx.callOptions());
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), name: snap.getName(), xml } satisfies XmlJson);
    else ctx.stdout.write(xml);
  },
};

/** `snapshot-revert domain {snapshot | --current} [{--running | --paused}] [--force] [--reset-nvram]`. */
export const snapshotRevert: CliCommand = {
  name: 'snapshot-revert',
  summary: 'Revert a domain to a snapshot',
  usage: 'snapshot-revert <domain> [--snapshotname <string>] [--current] [--running] [--paused] [--force] [--reset-nvram]',
  description: 'Revert domain to snapshot',
  options: [
    DOMAIN_OPTION,
    SNAPSHOTNAME,
    { name: 'current', type: 'boolean', help: 'revert to current snapshot' },
    { name: 'running', type: 'boolean', help: 'after reverting, change state to running' },
    { name: 'paused', type: 'boolean', help: 'after reverting, change state to paused' },
    { name: 'force', type: 'boolean', help: 'try harder on risky reverts' },
    { name: 'reset-nvram', type: 'boolean', help: 're-initialize NVRAM from its pristine template' },
  ],
  async run(ctx, args) {
    let flags = 0;
    if (args.flag('running')) flags |= DomainSnapshot.REVERT_RUNNING;
    if (args.flag('paused')) flags |= DomainSnapshot.REVERT_PAUSED;
    if (args.flag('reset-nvram')) flags |= DomainSnapshot.REVERT_RESET_NVRAM;
    const dom = await domainArg(ctx, args);
    const snap = await snapshotArg(ctx, args, dom, 'snapshotname');
    await withContext(`Failed to revert snapshot ${snap.getName()}`, async () => {
      try {
        await snap.revertTo(flags, ctx.callOptions());
      } catch (e) {
        // virsh: --force is sent only when the daemon calls the revert risky, so older daemons still work.
        if (!args.flag('force') || !(e instanceof RemoteError) || e.remote.codeName !== 'VIR_ERR_SNAPSHOT_REVERT_RISKY') throw e;
        await snap.revertTo(flags | DomainSnapshot.REVERT_FORCE, ctx.callOptions());
      }
    });
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), snapshot: snap.getName(), action: 'reverted' } satisfies SnapshotActionJson);
    printExtra(ctx, `Domain snapshot ${snap.getName()} reverted\n`);
  },
};

/**
 * `snap.delete(flags)`, except where the daemon would crash on `--children` / `--children-only` of a branching
 * subtree (libvirt 9.0.0 and later, see objects/snapshot-subtree.ts): there the same snapshots are deleted one at
 * a time, leaves first, with progress on a terminal and a note saying why.
 */
async function deleteWithChildren(ctx: CliContext, snap: DomainSnapshot, flags: number): Promise<void> {
  try {
    await snap.delete(flags, ctx.callOptions());
    return;
  } catch (e) {
    if (!(e instanceof UnsafeSnapshotDeleteError)) throw e;
    if (!ctx.global.quiet && !ctx.global.json) {
      ctx.stderr.write(`note: libvirtd ${e.daemonVersion} crashes deleting this subtree in one call; deleting its snapshots one at a time, leaves first\n`);
    }
  }
  const tty = ctx.isTTY && !ctx.global.json;
  const { signal, timeout } = ctx.callOptions();
  // --timeout bounds each call, as everywhere in the CLI; the deletion as a whole makes one call per snapshot.
  await snap.deleteSubtree(flags & (DomainSnapshot.DELETE_CHILDREN_ONLY | DomainSnapshot.DELETE_METADATA_ONLY), {
    signal,
    callTimeout: timeout,
    onProgress: tty ? (p) => ctx.stderr.write(`\rdeleted ${p.done}/${p.total} (${p.name})\x1b[K${p.done === p.total ? '\n' : ''}`) : undefined,
  });
}

/** `snapshot-delete domain {snapshot | --current} [--metadata] [{--children | --children-only}]`. */
export const snapshotDelete: CliCommand = {
  name: 'snapshot-delete',
  summary: 'Delete a domain snapshot',
  usage: 'snapshot-delete <domain> [--snapshotname <string>] [--current] [--children] [--children-only] [--metadata]',
  description: 'Snapshot Delete',
  options: [
    DOMAIN_OPTION,
    SNAPSHOTNAME,
    { name: 'current', type: 'boolean', help: 'delete current snapshot' },
    { name: 'children', type: 'boolean', help: 'delete snapshot and all children' },
    { name: 'children-only', type: 'boolean', help: 'delete children but not snapshot' },
    { name: 'metadata', type: 'boolean', help: 'delete only libvirt metadata, leaving snapshot contents behind' },
  ],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const snap = await snapshotArg(ctx, args, dom, 'snapshotname');
    let flags = 0;
    if (args.flag('children')) flags |= DomainSnapshot.DELETE_CHILDREN;
    if (args.flag('children-only')) flags |= DomainSnapshot.DELETE_CHILDREN_ONLY;
    if (args.flag('metadata')) flags |= DomainSnapshot.DELETE_METADATA_ONLY;
    // The daemon judges --children with --children-only (VIR_ERR_INVALID_ARG), as it does for virsh.
    await withContext(`Failed to delete snapshot ${snap.getName()}`, () => deleteWithChildren(ctx, snap, flags));
    const childrenOnly = (flags & DomainSnapshot.DELETE_CHILDREN_ONLY) !== 0;
    if (ctx.global.json) {
      printJson(ctx, { domain: dom.getName(), snapshot: snap.getName(), action: childrenOnly ? 'children-deleted' : 'deleted' } satisfies SnapshotActionJson);
    }
    printExtra(ctx, childrenOnly ? `Domain snapshot ${snap.getName()} children deleted\n` : `Domain snapshot ${snap.getName()} deleted\n`);
  },
};

/** `snapshot-parent domain {snapshot | --current}`: the parent's name, an error for a root. */
export const snapshotParent: CliCommand = {
  name: 'snapshot-parent',
  summary: 'Get the name of the parent of a snapshot',
  usage: 'snapshot-parent <domain> [--snapshotname <string>] [--current]',
  description: "Extract the snapshot's parent, if any",
  options: [DOMAIN_OPTION, { ...SNAPSHOTNAME, help: 'find parent of snapshot name' }, { name: 'current', type: 'boolean', help: 'find parent of current snapshot' }],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const snap = await snapshotArg(ctx, args, dom, 'snapshotname');
    const parent = await withContext('unable to determine if snapshot has parent', () => snap.getParent(ctx.callOptions()));
    if (parent === null) throw new CliCommandError(`snapshot '${snap.getName()}' has no parent`);
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), name: snap.getName(), parent: parent.getName() } satisfies ParentJson);
    else ctx.stdout.write(parent.getName());
  },
};

/** Every snapshot command, in virsh's order. */
export const snapshotCommands: readonly CliCommand[] = [
  snapshotCreateAs,
  snapshotCurrent,
  snapshotDelete,
  snapshotDumpxml,
  snapshotInfo,
  snapshotList,
  snapshotParent,
  snapshotRevert,
];

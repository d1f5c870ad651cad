/**
 * The checkpoint commands, as virsh 9.0 has them (tools/virsh-checkpoint.c): `checkpoint-create-as`,
 * `checkpoint-list`, `checkpoint-info`, `checkpoint-dumpxml`, `checkpoint-delete`.
 */
import { DomainCheckpoint, RemoteError, XmlError, type CheckpointDescription, type Domain } from '../index.js';
import { CliUsageError, type CliCommand, type CliContext } from './command.js';
import { CliCommandError, withContext } from './errors.js';
import { escapeXml, formatCreationTime, formatInfo, formatTable, formatTree, sortByName, splitCommaList } from './format.js';
import { checkpointItem, unixSeconds, type CheckpointActionJson, type CheckpointInfoJson, type CheckpointListJson, type ParentJson, type PrintXmlJson, type XmlJson } from './json.js';
import { DOMAIN_OPTION, checkpointArg, domainArg, mapBounded } from './lookup.js';
import { printExtra, printJson } from './output.js';

const CHECKPOINTNAME = { name: 'checkpointname', type: 'string', positional: true, help: 'checkpoint name' } as const;

/**
 * `<disk .../>` from a checkpoint diskspec, `disk[,checkpoint=type][,bitmap=name]`
 * (virshParseCheckpointDiskspec). virsh writes the checkpoint and bitmap values unescaped; here they are escaped.
 */
export function checkpointDiskspecXml(spec: string): string {
  const [name, ...rest] = splitCommaList(spec);
  // As for snapshots: an empty diskspec is refused (virsh 9.0 writes a broken element for it).
  if (spec === '') throw new CliCommandError(`unable to parse diskspec: ${spec}`);
  let checkpoint: string | undefined;
  let bitmap: string | undefined;
  for (const item of rest) {
    if (checkpoint === undefined && item.startsWith('checkpoint=')) checkpoint = item.slice('checkpoint='.length);
    else if (bitmap === undefined && item.startsWith('bitmap=')) bitmap = item.slice('bitmap='.length);
    else throw new CliCommandError(`unable to parse diskspec: ${spec}`);
  }
  let out = `    <disk name='${escapeXml(name)}'`;
  if (checkpoint !== undefined) out += ` checkpoint='${escapeXml(checkpoint)}'`;
  if (bitmap !== undefined) out += ` bitmap='${escapeXml(bitmap)}'`;
  return `${out}/>\n`;
}

/** The `<domaincheckpoint>` document checkpoint-create-as sends, as virsh builds it. */
export function checkpointCreateXml(name: string | undefined, description: string | undefined, diskspecs: readonly string[] | null): string {
  let xml = '<domaincheckpoint>\n';
  if (name !== undefined) xml += `  <name>${escapeXml(name)}</name>\n`;
  if (description !== undefined) xml += `  <description>${escapeXml(description)}</description>\n`;
  if (diskspecs !== null) xml += `  <disks>\n${diskspecs.map(checkpointDiskspecXml).join('')}  </disks>\n`;
  return `${xml}</domaincheckpoint>\n`;
}

/** `checkpoint-create-as domain [--print-xml] [name] [description] [--quiesce] [[--diskspec] diskspec]...`. */
export const checkpointCreateAs: CliCommand = {
  name: 'checkpoint-create-as',
  summary: 'Create a checkpoint from a set of args',
  usage: 'checkpoint-create-as <domain> [--name <string>] [--description <string>] [--print-xml] [--quiesce] [[--diskspec] <string>]...',
  description: 'Create a checkpoint from arguments for use in future incremental backups',
  options: [
    DOMAIN_OPTION,
    { name: 'name', type: 'string', positional: true, help: 'name of checkpoint' },
    { name: 'description', type: 'string', positional: true, help: 'description of checkpoint' },
    { name: 'print-xml', type: 'boolean', help: 'print XML document rather than create' },
    { name: 'quiesce', type: 'boolean', help: "quiesce guest's file systems" },
    { name: 'diskspec', type: 'strings', positional: true, help: 'disk attributes: disk[,checkpoint=type][,bitmap=name]' },
  ],
  async run(ctx, args) {
    const flags = args.flag('quiesce') ? DomainCheckpoint.CREATE_QUIESCE : 0;
    const dom = await domainArg(ctx, args);
    const xml = checkpointCreateXml(args.string('name'), args.string('description'), args.has('diskspec') ? args.strings('diskspec') : null);
    if (args.flag('print-xml')) {
      if (ctx.global.json) printJson(ctx, { domain: dom.getName(), xml } satisfies PrintXmlJson);
      else ctx.stdout.write(`${xml}\n`);
      return;
    }
    const chk = await dom.createCheckpoint(xml, flags, ctx.callOptions());
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), checkpoint: chk.getName(), action: 'created' } satisfies CheckpointActionJson);
    printExtra(ctx, `Domain checkpoint ${chk.getName()} created`);
  },
};

interface Listed {
  chk: DomainCheckpoint;
  parent?: string | null;
}

/** virshCheckpointListCollect: one listing call, parents for a tree, `--from` as the tree's root, sorted by name. */
async function collect(ctx: CliContext, dom: Domain, from: DomainCheckpoint | null, flags: number, tree: boolean): Promise<Listed[]> {
  // virsh reports a failed listing as "unexpected problem querying checkpoints", then libvirt's reason.
  const chks = await withContext('unexpected problem querying checkpoints', () =>
    from !== null ? from.listAllChildren(flags, ctx.callOptions()) : dom.listAllCheckpoints(flags, ctx.callOptions()));
  let listed: Listed[] = chks.map((chk) => ({ chk }));
  if (tree) {
    listed = await mapBounded(chks, async (chk) => ({ chk, parent: (await chk.getParent(ctx.callOptions()))?.getName() ?? null }));
    if (from !== null) listed.push({ chk: from, parent: null });
  }
  return (flags & DomainCheckpoint.LIST_TOPOLOGICAL) !== 0 ? listed : sortByName(listed, (l) => l.chk.getName());
}

/** `checkpoint-list domain [{--parent | --roots | [{--tree | --name}]}] [--topological] [[--from] c [--descendants]] [--leaves] [--no-leaves]`. */
export const checkpointList: CliCommand = {
  name: 'checkpoint-list',
  summary: 'List checkpoints for a domain',
  usage: 'checkpoint-list <domain> [--parent] [--roots] [--leaves] [--no-leaves] [--tree] [--from <string>] [--descendants] [--name] [--topological]',
  description: 'Checkpoint List',
  options: [
    DOMAIN_OPTION,
    { name: 'parent', type: 'boolean', help: 'add a column showing parent checkpoint' },
    { name: 'roots', type: 'boolean', help: 'list only checkpoints without parents' },
    { name: 'leaves', type: 'boolean', help: 'list only checkpoints without children' },
    { name: 'no-leaves', type: 'boolean', help: 'list only checkpoints that are not leaves (with children)' },
    { name: 'tree', type: 'boolean', help: 'list checkpoints in a tree' },
    { name: 'from', type: 'string', positional: true, help: 'limit list to children of given checkpoint' },
    { name: 'descendants', type: 'boolean', help: 'with --from, list all descendants' },
    { name: 'name', type: 'boolean', help: 'list checkpoint names only' },
    { name: 'topological', type: 'boolean', help: 'sort list topologically rather than by name' },
  ],
  async run(ctx, args) {
    const tree = args.flag('tree');
    for (const [a, b] of [['tree', 'name'], ['parent', 'roots'], ['parent', 'tree'], ['roots', 'tree'], ['roots', 'from']]) {
      if (args.has(a) && args.has(b)) throw new CliUsageError(`Options --${a} and --${b} are mutually exclusive`);
    }
    let flags = 0;
    for (const [option, flag] of [['leaves', DomainCheckpoint.LIST_LEAVES], ['no-leaves', DomainCheckpoint.LIST_NO_LEAVES]] as const) {
      if (!args.flag(option)) continue;
      if (tree) throw new CliUsageError(`--${option} and --tree are mutually exclusive`);
      flags |= flag;
    }
    if (args.flag('topological')) flags |= DomainCheckpoint.LIST_TOPOLOGICAL;
    if (args.flag('roots')) flags |= DomainCheckpoint.LIST_ROOTS;
    if (args.flag('descendants')) {
      if (!args.has('from')) throw new CliUsageError('--descendants requires --from');
      flags |= DomainCheckpoint.LIST_DESCENDANTS;
    }
    const dom = await domainArg(ctx, args);
    const from = args.has('from') ? await checkpointArg(ctx, args, dom, 'from') : null;
    const listed = await collect(ctx, dom, from, flags, tree);
    if (!ctx.global.json && tree) {
      ctx.stdout.write(formatTree(listed.map((l) => ({ name: l.chk.getName(), parent: l.parent ?? null }))));
      return;
    }
    if (!ctx.global.json && args.flag('name')) {
      ctx.stdout.write(listed.map((l) => `${l.chk.getName()}\n`).join(''));
      return;
    }
    // Rows whose XML cannot be had are left out, as virsh `continue`s past them.
    const described = await mapBounded(listed, async ({ chk }): Promise<CheckpointDescription | null> => {
      try {
        return await chk.describe(0, ctx.callOptions());
      } catch (e) {
        if (e instanceof RemoteError || e instanceof XmlError) return null;
        throw e;
      }
    });
    const found = described.filter((d): d is CheckpointDescription => d !== null);
    if (ctx.global.json) {
      printJson(ctx, { domain: dom.getName(), checkpoints: found.map(checkpointItem) } satisfies CheckpointListJson);
      return;
    }
    const withParent = args.flag('parent');
    const rows: string[][] = [];
    for (const d of found) {
      const seconds = unixSeconds(d.creationTime);
      if (seconds === null) continue;
      rows.push(withParent ? [d.name, formatCreationTime(seconds), d.parent ?? ''] : [d.name, formatCreationTime(seconds)]);
    }
    const headers = withParent ? ['Name', 'Creation Time', 'Parent'] : ['Name', 'Creation Time'];
    ctx.stdout.write(formatTable(headers, rows, !ctx.global.quiet));
  },
};

/** `checkpoint-info domain checkpoint`. */
export const checkpointInfo: CliCommand = {
  name: 'checkpoint-info',
  summary: 'checkpoint information',
  usage: 'checkpoint-info <domain> [--checkpointname <string>]',
  description: 'Returns basic information about a checkpoint.',
  options: [DOMAIN_OPTION, CHECKPOINTNAME],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const chk = await checkpointArg(ctx, args, dom, 'checkpointname');
    const parent = await withContext('unexpected problem querying checkpoint state', () => chk.getParent(ctx.callOptions()));
    const children = (await chk.listAllChildren(0, ctx.callOptions())).length;
    const descendants = (await chk.listAllChildren(DomainCheckpoint.LIST_DESCENDANTS, ctx.callOptions())).length;
    const info: CheckpointInfoJson = { name: chk.getName(), domain: dom.getName(), parent: parent?.getName() ?? null, children, descendants };
    if (ctx.global.json) {
      printJson(ctx, info);
      return;
    }
    ctx.stdout.write(formatInfo([
      ['Name:', info.name],
      ['Domain:', info.domain],
      ['Parent:', info.parent ?? '-'],
      ['Children:', children],
      ['Descendants:', descendants],
    ]));
  },
};

/** `checkpoint-dumpxml [--security-info] [--no-domain] [--size] domain checkpoint`. */
export const checkpointDumpxml: CliCommand = {
  name: 'checkpoint-dumpxml',
  summary: 'Dump XML for a domain checkpoint',
  usage: 'checkpoint-dumpxml <domain> [--checkpointname <string>] [--security-info] [--no-domain] [--size]',
  description: 'Checkpoint Dump XML',
  options: [
    DOMAIN_OPTION,
    CHECKPOINTNAME,
    { name: 'security-info', type: 'boolean', help: 'include security sensitive information in XML dump' },
    { name: 'no-domain', type: 'boolean', help: 'exclude <domain> from XML' },
    { name: 'size', type: 'boolean', help: 'include backup size estimate in XML dump' },
  ],
  async run(ctx, args) {
    let flags = 0;
    if (args.flag('security-info')) flags |= DomainCheckpoint.XML_SECURE;
    if (args.flag('no-domain')) flags |= DomainCheckpoint.XML_NO_DOMAIN;
    if (args.flag('size')) flags |= DomainCheckpoint.XML_SIZE;
    const dom = await domainArg(ctx, args);
    const chk = await checkpointArg(ctx, args, dom, 'checkpointname');
    const xml = await chk.getXMLDescription(flags, ctx.callOptions());
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), name: chk.getName(), xml } satisfies XmlJson);
    else ctx.stdout.write(xml);
  },
};

/** `checkpoint-delete domain checkpoint [--metadata] [{--children | --children-only}]`. */
export const checkpointDelete: CliCommand = {
  name: 'checkpoint-delete',
  summary: 'Delete a domain checkpoint',
  usage: 'checkpoint-delete <domain> [--checkpointname <string>] [--children] [--children-only] [--metadata]',
  description: 'Checkpoint Delete',
  options: [
    DOMAIN_OPTION,
    CHECKPOINTNAME,
    { name: 'children', type: 'boolean', help: 'delete checkpoint and all children' },
    { name: 'children-only', type: 'boolean', help: 'delete children but not checkpoint' },
    { name: 'metadata', type: 'boolean', help: 'delete only libvirt metadata, leaving checkpoint contents behind' },
  ],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const chk = await checkpointArg(ctx, args, dom, 'checkpointname');
    let flags = 0;
    if (args.flag('children')) flags |= DomainCheckpoint.DELETE_CHILDREN;
    if (args.flag('children-only')) flags |= DomainCheckpoint.DELETE_CHILDREN_ONLY;
    if (args.flag('metadata')) flags |= DomainCheckpoint.DELETE_METADATA_ONLY;
    await withContext(`Failed to delete checkpoint ${chk.getName()}`, () => chk.delete(flags, ctx.callOptions()));
    const childrenOnly = (flags & DomainCheckpoint.DELETE_CHILDREN_ONLY) !== 0;
    if (ctx.global.json) {
      printJson(ctx, { domain: dom.getName(), checkpoint: chk.getName(), action: childrenOnly ? 'children-deleted' : 'deleted' } satisfies CheckpointActionJson);
    }
    printExtra(ctx, childrenOnly ? `Domain checkpoint ${chk.getName()} children deleted\n` : `Domain checkpoint ${chk.getName()} deleted\n`);
  },
};

/** `checkpoint-parent domain checkpoint`: the parent's name, an error for a root. */
export const checkpointParent: CliCommand = {
  name: 'checkpoint-parent',
  summary: 'Get the name of the parent of a checkpoint',
  usage: 'checkpoint-parent <domain> [--checkpointname <string>]',
  description: "Extract the checkpoint's parent, if any",
  options: [DOMAIN_OPTION, { ...CHECKPOINTNAME, help: 'find parent of checkpoint name' }],
  async run(ctx, args) {
    const dom = await domainArg(ctx, args);
    const chk = await checkpointArg(ctx, args, dom, 'checkpointname');
    const parent = await withContext('unable to determine if checkpoint has parent', () => chk.getParent(ctx.callOptions()));
    if (parent === null) throw new CliCommandError(`checkpoint '${chk.getName()}' has no parent`);
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), name: chk.getName(), parent: parent.getName() } satisfies ParentJson);
    else ctx.stdout.write(parent.getName());
  },
};

/** Every checkpoint command, in virsh's order. */
export const checkpointCommands: readonly CliCommand[] = [
  checkpointCreateAs,
  checkpointDelete,
  checkpointDumpxml,
  checkpointInfo,
  checkpointList,
  checkpointParent,
];

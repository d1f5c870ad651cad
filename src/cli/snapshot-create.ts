/**
 * `snapshot-create-as` and `snapshot-current`, as virsh 9.0 has them (tools/virsh-snapshot.c).
 */
import { DomainSnapshot, RemoteError, type Domain } from '../index.js';
import type { CliCommand, CliContext } from './command.js';
import { CliCommandError } from './errors.js';
import { escapeXml, splitCommaList } from './format.js';
import type { PrintXmlJson, SnapshotActionJson, XmlJson } from './json.js';
import { DOMAIN_OPTION, domainArg, exclusive } from './lookup.js';
import { printExtra, printJson } from './output.js';

/**
 * `<memory .../>` from a memspec, `[file=]name[,snapshot=type]` (virshParseSnapshotMemspec): each key once, a
 * bare word starting with `/` is the file. The attributes come out as virsh writes them: snapshot, then file.
 */
export function memspecXml(spec: string): string {
  let snapshot: string | undefined;
  let file: string | undefined;
  for (const item of splitCommaList(spec)) {
    if (snapshot === undefined && item.startsWith('snapshot=')) snapshot = item.slice('snapshot='.length);
    else if (file === undefined && item.startsWith('file=')) file = item.slice('file='.length);
    else if (file === undefined && item.startsWith('/')) file = item;
    else throw new CliCommandError(`unable to parse memspec: ${spec}`);
  }
  const attrs = (snapshot === undefined ? '' : ` snapshot='${escapeXml(snapshot)}'`) + (file === undefined ? '' : ` file='${escapeXml(file)}'`);
  return `  <memory${attrs}/>\n`;
}

/**
 * `<disk .../>` from a diskspec, `disk[,snapshot=type][,driver=type][,stype=type][,file=name]`
 * (virshParseSnapshotDiskspec), indented for `<disks>`. `stype=block` makes the file a `<source dev>`.
 * virsh writes the snapshot, driver and stype values unescaped; here every value is escaped.
 */
export function snapshotDiskspecXml(spec: string): string {
  const [name, ...rest] = splitCommaList(spec);
  // virsh 9.0 turns an empty diskspec (no items at all) into a broken `/>` line; it is refused here instead.
  if (spec === '') throw new CliCommandError(`unable to parse diskspec: ${spec}`);
  const fields: Record<'snapshot' | 'driver' | 'stype' | 'file', string | undefined> = { snapshot: undefined, driver: undefined, stype: undefined, file: undefined };
  for (const item of rest) {
    const key = (Object.keys(fields) as (keyof typeof fields)[]).find((k) => fields[k] === undefined && item.startsWith(`${k}=`));
    if (key === undefined) throw new CliCommandError(`unable to parse diskspec: ${spec}`);
    fields[key] = item.slice(key.length + 1);
  }
  let isFile = true;
  if (fields.stype !== undefined) {
    if (fields.stype === 'block') isFile = false;
    else if (fields.stype !== 'file') throw new CliCommandError([`Unknown storage type: '${fields.stype}'`, `unable to parse diskspec: ${spec}`]);
  }
  let out = `    <disk name='${escapeXml(name)}'`;
  if (fields.snapshot !== undefined) out += ` snapshot='${escapeXml(fields.snapshot)}'`;
  if (fields.stype !== undefined) out += ` type='${escapeXml(fields.stype)}'`;
  if (fields.driver === undefined && fields.file === undefined) return `${out}/>\n`;
  out += '>\n';
  if (fields.driver !== undefined) out += `      <driver type='${escapeXml(fields.driver)}'/>\n`;
  if (fields.file !== undefined) out += `      <source ${isFile ? 'file' : 'dev'}='${escapeXml(fields.file)}'/>\n`;
  return `${out}    </disk>\n`;
}

/** The `<domainsnapshot>` document snapshot-create-as sends, byte for byte as virsh builds it. */
export function snapshotCreateXml(name: string | undefined, description: string | undefined, memspec: string | undefined, diskspecs: readonly string[] | null): string {
  let xml = '<domainsnapshot>\n';
  if (name !== undefined) xml += `  <name>${escapeXml(name)}</name>\n`;
  if (description !== undefined) xml += `  <description>${escapeXml(description)}</description>\n`;
  if (memspec !== undefined) xml += memspecXml(memspec);
  if (diskspecs !== null) xml += `  <disks>\n${diskspecs.map(snapshotDiskspecXml).join('')}  </disks>\n`;
  return `${xml}</domainsnapshot>\n`;
}

const CREATE_FLAGS: readonly [string, number][] = [
  ['no-metadata', DomainSnapshot.CREATE_NO_METADATA],
  ['halt', DomainSnapshot.CREATE_HALT],
  ['disk-only', DomainSnapshot.CREATE_DISK_ONLY],
  ['reuse-external', DomainSnapshot.CREATE_REUSE_EXT],
  ['quiesce', DomainSnapshot.CREATE_QUIESCE],
  ['atomic', DomainSnapshot.CREATE_ATOMIC],
  ['live', DomainSnapshot.CREATE_LIVE],
  ['validate', DomainSnapshot.CREATE_VALIDATE],
];

/** Creates the snapshot; like virsh, retries without VALIDATE when the daemon does not support it. */
async function create(ctx: CliContext, dom: Domain, xml: string, flags: number): Promise<DomainSnapshot> {
  try {
    return await dom.createSnapshot(xml, flags, ctx.callOptions());
  } catch (e) {
    if (e instanceof RemoteError && e.remote.codeName === 'VIR_ERR_NO_SUPPORT' && (flags & DomainSnapshot.CREATE_VALIDATE) !== 0) {
      return dom.createSnapshot(xml, flags & ~DomainSnapshot.CREATE_VALIDATE, ctx.callOptions());
    }
    throw e;
  }
}

/** `snapshot-create-as domain [name] [description] [flags] [--memspec m] [[--diskspec] d]...`. */
export const snapshotCreateAs: CliCommand = {
  name: 'snapshot-create-as',
  summary: 'Create a snapshot from a set of args',
  usage: 'snapshot-create-as <domain> [--name <string>] [--description <string>] [--print-xml] [--no-metadata] [--halt] [--disk-only] [--reuse-external] [--quiesce] [--atomic] [--live] [--validate] [--memspec <string>] [[--diskspec] <string>]...',
  description: 'Create a snapshot (disk and RAM) from arguments',
  options: [
    DOMAIN_OPTION,
    { name: 'name', type: 'string', positional: true, help: 'name of snapshot' },
    { name: 'description', type: 'string', positional: true, help: 'description of snapshot' },
    { name: 'print-xml', type: 'boolean', help: 'print XML document rather than create' },
    { name: 'no-metadata', type: 'boolean', help: 'take snapshot but create no metadata' },
    { name: 'halt', type: 'boolean', help: 'halt domain after snapshot is created' },
    { name: 'disk-only', type: 'boolean', help: 'capture disk state but not vm state' },
    { name: 'reuse-external', type: 'boolean', help: 'reuse any existing external files' },
    { name: 'quiesce', type: 'boolean', help: "quiesce guest's file systems" },
    { name: 'atomic', type: 'boolean', help: 'require atomic operation' },
    { name: 'live', type: 'boolean', help: 'take a live snapshot' },
    { name: 'validate', type: 'boolean', help: 'validate the XML against the schema' },
    { name: 'memspec', type: 'string', help: 'memory attributes: [file=]name[,snapshot=type]' },
    { name: 'diskspec', type: 'strings', positional: true, help: 'disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]' },
  ],
  async run(ctx, args) {
    let flags = 0;
    for (const [option, flag] of CREATE_FLAGS) if (args.flag(option)) flags |= flag;
    const dom = await domainArg(ctx, args);
    const name = args.string('name');
    const description = args.string('description');
    const memspec = args.string('memspec');
    const xml = snapshotCreateXml(name, description, memspec, args.has('diskspec') ? args.strings('diskspec') : null);
    if (args.flag('print-xml')) {
      // virsh prints the document with one more newline ("%s\n").
      if (ctx.global.json) printJson(ctx, { domain: dom.getName(), xml } satisfies PrintXmlJson);
      else ctx.stdout.write(`${xml}\n`);
      return;
    }
    const snap = await create(ctx, dom, xml, flags);
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), snapshot: snap.getName(), action: 'created' } satisfies SnapshotActionJson);
    printExtra(ctx, `Domain snapshot ${snap.getName()} created`);
  },
};

/** `snapshot-current domain {[--name] | [--security-info] | [snapshotname]}`. */
export const snapshotCurrent: CliCommand = {
  name: 'snapshot-current',
  summary: 'Get or set the current snapshot',
  usage: 'snapshot-current <domain> [--name] [--security-info] [--snapshotname <string>]',
  description: 'Get or set the current snapshot',
  options: [
    DOMAIN_OPTION,
    { name: 'name', type: 'boolean', help: 'list the name, rather than the full xml' },
    { name: 'security-info', type: 'boolean', help: 'include security sensitive information in XML dump' },
    { name: 'snapshotname', type: 'string', positional: true, help: 'name of existing snapshot to make current' },
  ],
  async run(ctx, args) {
    exclusive(args, 'name', 'snapshotname');
    const domText = args.requireString('domain');
    const dom = await domainArg(ctx, args);
    const target = args.string('snapshotname');
    if (target !== undefined) {
      await setCurrent(ctx, dom, target);
      if (ctx.global.json) printJson(ctx, { domain: dom.getName(), snapshot: target, action: 'set-current' } satisfies SnapshotActionJson);
      printExtra(ctx, `Snapshot ${target} set as current`);
      return;
    }
    if (!(await dom.hasCurrentSnapshot(0, ctx.callOptions()))) {
      throw new CliCommandError(`domain '${domText}' has no current snapshot`);
    }
    const snap = await dom.currentSnapshot(0, ctx.callOptions());
    const nameOnly = args.flag('name');
    const xml = nameOnly ? null : await snap.getXMLDescription(args.flag('security-info') ? DomainSnapshot.XML_SECURE : 0, ctx.callOptions());
    if (ctx.global.json) printJson(ctx, { domain: dom.getName(), name: snap.getName(), xml } satisfies XmlJson);
    else ctx.stdout.write(xml ?? snap.getName());
  },
};

/**
 * Makes `name` the current snapshot without reverting, as virsh does: redefine the snapshot from its own
 * secure XML with REDEFINE|CURRENT (and DISK_ONLY for a disk-only one). The XML is never printed.
 */
async function setCurrent(ctx: CliContext, dom: Domain, name: string): Promise<void> {
  const snap = await dom.getSnapshotByName(name, ctx.callOptions());
  const xml = await snap.getXMLDescription(DomainSnapshot.XML_SECURE, ctx.callOptions());
  let flags = DomainSnapshot.CREATE_REDEFINE | DomainSnapshot.CREATE_CURRENT;
  // virsh looks for this exact text; the XML comes from libvirt, not from the user.
  if (xml.includes('<state>disk-snapshot</state>')) flags |= DomainSnapshot.CREATE_DISK_ONLY;
  await dom.createSnapshot(xml, flags, ctx.callOptions());
}

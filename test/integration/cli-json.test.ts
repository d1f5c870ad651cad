/**
 * `--json` output: every snapshot and checkpoint command prints one JSON document (and nothing else) whose
 * shape is the documented one (src/cli/json.ts, src/cli/json-output.md), and whose values agree with what
 * virsh prints for the same state. The snapshots are made with our CLI's --json commands themselves.
 */
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { ours, virsh, virshOk, guestName } from './cli-peer';

const snapDom = guestName('cli-json-s');
const chkDom = guestName('cli-json-c');
let uri: string;

/** Runs our CLI with --json; it must succeed and print exactly one JSON document. */
async function json(...args: string[]): Promise<Record<string, unknown>> {
  const r = await ours(uri, ['--json', ...args]);
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
  expect(r.stdout.endsWith('}\n')).toBe(true);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** virsh's `Key:  value` lines as an object. */
function infoLines(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => {
    const m = /^(\S+):\s+(.*)$/.exec(l) as RegExpExecArray;
    return [m[1], m[2]];
  }));
}

beforeAll(async () => {
  uri = sandbox().unixUri;
  await Promise.all([createGuest(snapDom), createGuest(chkDom)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([removeGuest(snapDom), removeGuest(chkDom)]);
}, 120_000);

test('snapshot actions answer {domain, snapshot, action} and do what they say', async () => {
  expect(await json('snapshot-create-as', snapDom, 's1', 'the first')).toEqual({ domain: snapDom, snapshot: 's1', action: 'created' });
  expect(await json('snapshot-create-as', snapDom, 's2')).toEqual({ domain: snapDom, snapshot: 's2', action: 'created' });
  expect(await json('snapshot-create-as', snapDom, 'x1')).toEqual({ domain: snapDom, snapshot: 'x1', action: 'created' });
  expect(await json('snapshot-current', snapDom, 's1')).toEqual({ domain: snapDom, snapshot: 's1', action: 'set-current' });
  expect((await virshOk(uri, ['snapshot-current', snapDom, '--name'])).trim()).toBe('s1');
  expect(await json('snapshot-delete', snapDom, 'x1')).toEqual({ domain: snapDom, snapshot: 'x1', action: 'deleted' });
  expect(await json('snapshot-revert', snapDom, 's1')).toEqual({ domain: snapDom, snapshot: 's1', action: 'reverted' });
  expect(await json('snapshot-create-as', snapDom, 's3')).toEqual({ domain: snapDom, snapshot: 's3', action: 'created' });
  expect(await json('snapshot-create-as', snapDom, 'y1')).toEqual({ domain: snapDom, snapshot: 'y1', action: 'created' });
  expect(await json('snapshot-delete', snapDom, 's3', '--children-only')).toEqual({ domain: snapDom, snapshot: 's3', action: 'children-deleted' });
  // s1 ─┬─ s2
  //     └─ s3 (current)
  expect(await virshOk(uri, ['snapshot-list', snapDom, '--name'])).toBe('s1\ns2\ns3\n\n');
}, 60_000);

test('snapshot-list --json: the listed snapshots with parent, time, state, location, description, current', async () => {
  const list = await json('snapshot-list', snapDom);
  const snapshots = list.snapshots as Record<string, unknown>[];
  expect(list.domain).toBe(snapDom);
  expect(snapshots.map((s) => Object.keys(s))).toEqual(snapshots.map(() => ['name', 'parent', 'creationTime', 'state', 'location', 'description', 'current']));
  expect(snapshots.map((s) => [s.name, s.parent, s.state, s.location, s.description, s.current])).toEqual([
    ['s1', null, 'running', 'internal', 'the first', false],
    ['s2', 's1', 'running', 'internal', null, false],
    ['s3', 's1', 'running', 'internal', null, true],
  ]);
  for (const s of snapshots) {
    const xml = await virshOk(uri, ['snapshot-dumpxml', snapDom, s.name as string]);
    expect(xml).toContain(`<creationTime>${s.creationTime as number}</creationTime>`);
  }
  // Filters and --from select as in the text output; --tree --from includes the starting point.
  expect(((await json('snapshot-list', snapDom, '--leaves')).snapshots as { name: string }[]).map((s) => s.name)).toEqual(['s2', 's3']);
  expect(((await json('snapshot-list', snapDom, '--tree', '--from', 's1')).snapshots as { name: string }[]).map((s) => s.name)).toEqual(['s1', 's2', 's3']);
  expect(((await json('snapshot-list', snapDom, '--from', 's1')).snapshots as { name: string }[]).map((s) => s.name)).toEqual(['s2', 's3']);
});

test('snapshot-info, -dumpxml, -current and -parent --json agree with virsh', async () => {
  const info = await json('snapshot-info', snapDom, 's1');
  const v = infoLines(await virshOk(uri, ['snapshot-info', snapDom, 's1']));
  expect(info).toEqual({
    name: v.Name, domain: v.Domain, current: v.Current === 'yes', state: v.State, location: v.Location,
    parent: v.Parent === '-' ? null : v.Parent, children: Number(v.Children), descendants: Number(v.Descendants), metadata: v.Metadata === 'yes',
  });
  expect(info).toMatchObject({ name: 's1', children: 2, descendants: 2, parent: null });

  const dump = await json('snapshot-dumpxml', snapDom, 's2');
  expect(dump).toEqual({ domain: snapDom, name: 's2', xml: (await virshOk(uri, ['snapshot-dumpxml', snapDom, 's2'])).slice(0, -1) });
  const current = await json('snapshot-current', snapDom);
  expect(current).toEqual({ domain: snapDom, name: 's3', xml: (await virshOk(uri, ['snapshot-current', snapDom])).slice(0, -1) });
  expect(await json('snapshot-current', snapDom, '--name')).toEqual({ domain: snapDom, name: 's3', xml: null });
  expect(await json('snapshot-parent', snapDom, '--current')).toEqual({ domain: snapDom, name: 's3', parent: 's1' });
  const printed = await json('snapshot-create-as', snapDom, 'n', 'd', '--print-xml');
  const virshXml = await virshOk(uri, ['snapshot-create-as', snapDom, 'n', 'd', '--print-xml']);
  expect(printed).toEqual({ domain: snapDom, xml: virshXml.slice(0, -2) });
});

test('checkpoint commands --json: actions, list, info, dumpxml, parent', async () => {
  expect(await json('checkpoint-create-as', chkDom, 'c1', 'one')).toEqual({ domain: chkDom, checkpoint: 'c1', action: 'created' });
  expect(await json('checkpoint-create-as', chkDom, 'c2')).toEqual({ domain: chkDom, checkpoint: 'c2', action: 'created' });
  expect(await json('checkpoint-create-as', chkDom, 'c3')).toEqual({ domain: chkDom, checkpoint: 'c3', action: 'created' });
  expect(await json('checkpoint-delete', chkDom, 'c2', '--children-only')).toEqual({ domain: chkDom, checkpoint: 'c2', action: 'children-deleted' });
  expect(await json('checkpoint-create-as', chkDom, 'x')).toEqual({ domain: chkDom, checkpoint: 'x', action: 'created' });
  expect(await json('checkpoint-delete', chkDom, 'x')).toEqual({ domain: chkDom, checkpoint: 'x', action: 'deleted' });

  const list = await json('checkpoint-list', chkDom);
  const items = list.checkpoints as Record<string, unknown>[];
  expect(items.map((c) => [c.name, c.parent, c.description])).toEqual([['c1', null, 'one'], ['c2', 'c1', null]]);
  expect(items.map((c) => Object.keys(c))).toEqual(items.map(() => ['name', 'parent', 'creationTime', 'description']));
  for (const c of items) {
    expect(await virshOk(uri, ['checkpoint-dumpxml', chkDom, c.name as string])).toContain(`<creationTime>${c.creationTime as number}</creationTime>`);
  }
  const v = infoLines(await virshOk(uri, ['checkpoint-info', chkDom, 'c1']));
  expect(await json('checkpoint-info', chkDom, 'c1')).toEqual({ name: v.Name, domain: v.Domain, parent: null, children: Number(v.Children), descendants: Number(v.Descendants) });
  const dump = await json('checkpoint-dumpxml', chkDom, 'c2', '--no-domain');
  expect(dump).toEqual({ domain: chkDom, name: 'c2', xml: (await virshOk(uri, ['checkpoint-dumpxml', chkDom, 'c2', '--no-domain'])).slice(0, -1) });
  expect(await json('checkpoint-parent', chkDom, 'c2')).toEqual({ domain: chkDom, name: 'c2', parent: 'c1' });
}, 60_000);

test('--json also works after the command name, and prints nothing but the document', async () => {
  const r = await ours(uri, ['checkpoint-info', chkDom, 'c2', '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ name: 'c2', parent: 'c1' });
  expect(r.stdout).toBe(`${JSON.stringify(JSON.parse(r.stdout), null, 2)}\n`);
  // virsh itself knows no --json.
  expect((await virsh(uri, ['checkpoint-info', chkDom, 'c2', '--json'])).code).toBe(1);
});

/**
 * Our snapshot commands print exactly what virsh 9.0 prints, on the same daemon state: one guest whose
 * snapshot tree (built with virsh) has branches, names that sort differently with and without case folding,
 * a snapshot of the shut-off guest and an external disk-only leaf. Every read-only command and option
 * combination below runs through both tools; stdout, stderr and exit code must be identical, byte for byte
 * (same daemon, same time zone: nothing needs normalizing).
 */
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { both, virshOk, guestName } from './cli-peer';

const dom = guestName('cli-snap-cmp');
let uri: string;

beforeAll(async () => {
  uri = sandbox().unixUri;
  await createGuest(dom);
  const v = (...args: string[]) => virshOk(uri, args);
  // s1 ─┬─ s2 ─┬─ s3
  //     │      └─ a7 ─ B8 ─ off1 ─ disk1 (external, disk only)
  //     └─ s4
  await v('snapshot-create-as', dom, 's1', 'first one');
  await v('snapshot-create-as', dom, 's2');
  await v('snapshot-create-as', dom, '--name', 's3', '--description', 'third <one> & "quoted"');
  await v('snapshot-revert', dom, 's1');
  await v('snapshot-create-as', dom, 's4');
  await v('snapshot-revert', dom, 's2');
  await v('snapshot-create-as', dom, 'a7');
  await v('snapshot-create-as', dom, 'B8');
  await v('destroy', dom);
  await v('snapshot-create-as', dom, 'off1');
  await v('start', dom);
  await v('snapshot-create-as', dom, 'disk1', '--disk-only', '--diskspec', 'vda,snapshot=external');
}, 180_000);

afterAll(async () => {
  await removeGuest(dom);
}, 120_000);

const cases: string[][] = [
  // snapshot-list: the table, its variants and filters
  ['snapshot-list', '%'],
  ['-q', 'snapshot-list', '%'],
  ['snapshot-list', '%', '--parent'],
  ['-q', 'snapshot-list', '%', '--parent'],
  ['snapshot-list', '%', '--name'],
  ['snapshot-list', '%', '--topological'],
  ['snapshot-list', '%', '--topological', '--name'],
  ['snapshot-list', '%', '--roots'],
  ['snapshot-list', '%', '--leaves'],
  ['snapshot-list', '%', '--no-leaves', '--parent'],
  ['snapshot-list', '%', '--leaves', '--no-leaves'],
  ['snapshot-list', '%', '--metadata'],
  ['snapshot-list', '%', '--no-metadata'],
  ['snapshot-list', '%', '--inactive'],
  ['snapshot-list', '%', '--active', '--parent'],
  ['snapshot-list', '%', '--disk-only'],
  ['snapshot-list', '%', '--internal'],
  ['snapshot-list', '%', '--external'],
  ['snapshot-list', '%', '--internal', '--external', '--leaves'],
  // --from / --current, with and without --descendants
  ['snapshot-list', '%', '--from', 's1'],
  ['snapshot-list', '%', 's2', '--descendants'],
  ['snapshot-list', '%', '--from=s2', '--descendants', '--leaves', '--parent'],
  ['snapshot-list', '%', '--current'],
  ['snapshot-list', '%', '--from', 'disk1'],
  // trees
  ['snapshot-list', '%', '--tree'],
  ['-q', 'snapshot-list', '%', '--tree'],
  ['snapshot-list', '%', '--tree', '--topological'],
  ['snapshot-list', '%', '--tree', '--from', 's1'],
  ['snapshot-list', '%', '--tree', '--from', 's2', '--descendants'],
  ['snapshot-list', '%', '--tree', '--current'],
  ['snapshot-list', '%', '--tree', '--metadata'],
  // info, dumpxml, current, parent
  ['snapshot-info', '%', 's1'],
  ['snapshot-info', '%', 's2'],
  ['snapshot-info', '%', '--snapshotname', 'off1'],
  ['snapshot-info', '%', 'disk1'],
  ['snapshot-info', '%', '--current'],
  ['-q', 'snapshot-info', '%', 'B8'],
  ['snapshot-dumpxml', '%', 's3'],
  ['snapshot-dumpxml', '%', 'disk1', '--security-info'],
  ['snapshot-current', '%'],
  ['snapshot-current', '%', '--name'],
  ['-q', 'snapshot-current', '%', '--name'],
  ['snapshot-current', '%', '--security-info'],
  ['snapshot-parent', '%', 'a7'],
  ['snapshot-parent', '%', '--current'],
  // what --print-xml builds (the domain is still looked up, as virsh does)
  ['snapshot-create-as', '%', 'n', 'd', 'vda,snapshot=external', '--print-xml'],
  ['snapshot-create-as', '%', '--print-xml', '--memspec', 'file=/m,,x,snapshot=external', '--diskspec', 'vda,snapshot=external,driver=qcow2,file=/o'],
  // the domain by UUID, and positional words after --
  ['snapshot-info', '--', '%', 's4'],
  ['snapshot-info', '--domain=%', '--snapshotname=s4'],
];

test.each(cases.map((c) => [c.join(' '), c]))('%s', async (_label, args) => {
  const [theirs, mine] = await both(uri, (args as string[]).map((a) => a.replace('%', dom)));
  // Every case here succeeds (errors have their own file), so two identical failures cannot pass as equal.
  expect(theirs.code).toBe(0);
  expect(mine).toEqual(theirs);
});

test.each(['snapshot-revert', 'snapshot-delete', 'snapshot-info', 'snapshot-list', 'snapshot-create-as', 'snapshot-current'])('%s --help', async (name) => {
  const [theirs, mine] = await both(uri, [name, '--help']);
  expect(theirs.code).toBe(0);
  // Our --json option is the one line virsh's help cannot have.
  expect({ ...mine, stdout: mine.stdout.replace('    --json           print the result as JSON\n', '') }).toEqual(theirs);
});

test('the domain may be named by its UUID', async () => {
  const uuid = (await virshOk(uri, ['domuuid', dom])).trim();
  const [theirs, mine] = await both(uri, ['snapshot-list', uuid, '--tree']);
  expect(theirs.code).toBe(0);
  expect(mine).toEqual(theirs);
});

test('the tree has the shape built, and a case-insensitive name order (a7 before B8)', async () => {
  const [theirs] = await both(uri, ['snapshot-list', dom, '--name']);
  expect(theirs.stdout).toBe('a7\nB8\ndisk1\noff1\ns1\ns2\ns3\ns4\n\n');
});

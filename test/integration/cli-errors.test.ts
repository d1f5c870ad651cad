/**
 * Failures are reported as virsh reports them: exit code 1, `error: ...` lines on stderr (the command's own
 * line first where virsh has one, e.g. "Failed to delete snapshot s1", then libvirt's message), and virsh's
 * blank line on stdout exactly when virsh prints it (after a command that ran, not after a parse error).
 * Every case runs through virsh and our CLI on the same guests: identical bytes. With --json the failure
 * looks the same (no JSON on stdout). A failed connection is the one place the wording differs: the second
 * line is the transport's own reason, which our transports word differently (libvirt's comes from its C
 * socket code); only that line is left uncompared.
 */
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { both, ours, virshOk, guestName } from './cli-peer';

const g1 = guestName('cli-err-a');
const g2 = guestName('cli-err-b');
let uri: string;

beforeAll(async () => {
  uri = sandbox().unixUri;
  // g1 runs and has one snapshot, s1; g2 is defined but never started, with no snapshot and no checkpoint.
  await Promise.all([createGuest(g1), createGuest(g2, { start: false })]);
  await virshOk(uri, ['snapshot-create-as', g1, 's1']);
}, 120_000);

afterAll(async () => {
  await Promise.all([removeGuest(g1), removeGuest(g2)]);
}, 120_000);

const cases: string[][] = [
  // what a command names does not exist
  ['snapshot-info', 'nodom-cli', 's1'],
  ['snapshot-list', 'nodom-cli'],
  ['snapshot-info', '99999', 's1'],
  ['snapshot-info', 'G1', 'nosnap'],
  ['snapshot-dumpxml', 'G1', 'nosnap'],
  ['snapshot-list', 'G1', '--from', 'nosuch'],
  ['snapshot-current', 'G1', '--snapshotname', 'nosuch'],
  ['snapshot-revert', 'G1', 'nosuch'],
  ['snapshot-delete', 'G1', 'nosuch'],
  ['snapshot-parent', 'G1', 'nosuch'],
  ['checkpoint-info', 'G2', 'nock'],
  ['checkpoint-dumpxml', 'G2', 'nock'],
  ['checkpoint-delete', 'G2', 'nock'],
  ['checkpoint-parent', 'G2', 'nock'],
  ['checkpoint-list', 'G2', '--from', 'nock'],
  ['checkpoint-list', 'nodom-cli'],
  // states that forbid the request
  ['snapshot-current', 'G2'],
  ['snapshot-current', 'G2', '--name'],
  ['snapshot-info', 'G2', '--current'],
  ['snapshot-parent', 'G1', 's1'],
  ['snapshot-create-as', 'G1', 's1'],
  ['snapshot-revert', 'G1', '--running', '--paused', 's1'],
  ['snapshot-delete', 'G1', '--children', '--children-only', 's1'],
  // options that do not go together, or are missing, empty or malformed
  ['snapshot-info', 'G1'],
  ['snapshot-info', 'G1', 's1', '--current'],
  ['snapshot-info', 'G1', ''],
  ['snapshot-info', 'G1', '--snapshotname='],
  ['snapshot-info', 'G1', '--snapshotname', 's1', '--snapshotname', 's1'],
  ['snapshot-dumpxml', 'G1'],
  ['snapshot-list'],
  ['snapshot-list', 'G1', '--bogus'],
  ['snapshot-list', 'G1', 's1', 'extra'],
  ['snapshot-list', 'G1', '--tree', '--tree'],
  ['snapshot-list', 'G1', '--tree', '--leaves'],
  ['snapshot-list', 'G1', '--tree', '--name'],
  ['snapshot-list', 'G1', '--parent', '--tree'],
  ['snapshot-list', 'G1', '--roots', '--from', 's1'],
  ['snapshot-list', 'G1', '--roots', '--current'],
  ['snapshot-list', 'G1', '--descendants'],
  ['snapshot-current', 'G1', '--name', 's1'],
  ['snapshot-create-as', 'G1', '--memspec'],
  ['snapshot-create-as', 'G1', '--print-xml', '--memspec', 'bad,x=1'],
  ['snapshot-create-as', 'G1', '--print-xml', '--diskspec', 'vda,stype=bad'],
  ['snapshot-create-as', 'G1', '--print-xml', '--diskspec', 'vda,foo=1'],
  ['snapshot-revert', 'G1'],
  ['snapshot-delete', 'G1'],
  ['checkpoint-info', 'G2'],
  ['checkpoint-delete', 'G2'],
  ['checkpoint-list', 'G2', '--descendants'],
  ['checkpoint-list', 'G2', '--tree', '--roots'],
  ['checkpoint-create-as', 'G2', '--print-xml', '--diskspec', 'vda,size=1'],
  ['nosuchcmd'],
  ['-x', 'snapshot-list', 'G1'],
  ['help', 'nosuchcmd'],
];

const expand = (args: readonly string[]): string[] => args.map((a) => a.replace('G1', g1).replace('G2', g2));

test.each(cases.map((c) => [c.join(' '), c]))('%s', async (_label, args) => {
  const [theirs, mine] = await both(uri, expand(args as string[]));
  expect(theirs.code).toBe(1);
  expect(theirs.stderr).toMatch(/^error: /);
  expect(mine).toEqual(theirs);
});

test.each([
  ['snapshot-info', 'G1', 'nosnap'],
  ['snapshot-list', 'nodom-cli'],
  ['snapshot-list', 'G1', '--tree', '--name'],
])('with --json, %s %s %s fails the same way and prints no JSON', async (...args) => {
  const [theirs, mine] = await both(uri, expand(args));
  const json = await ours(uri, ['--json', ...expand(args)]);
  expect(theirs.code).toBe(1);
  expect(mine).toEqual(theirs);
  expect(json).toEqual({ code: 1, stdout: '', stderr: theirs.stderr });
});

test('a daemon that cannot be reached: virsh\'s first line, exit 1, then the transport\'s reason', async () => {
  const [theirs, mine] = await both('qemu+unix:///session?socket=/nonexistent/libvirt-sock', ['snapshot-list', g1]);
  expect(theirs.code).toBe(1);
  expect(mine.code).toBe(1);
  expect(mine.stdout).toBe(theirs.stdout);
  const [first, reason, ...rest] = mine.stderr.split('\n');
  expect(first).toBe(theirs.stderr.split('\n')[0]);
  expect(first).toBe('error: failed to connect to the hypervisor');
  expect(reason).toMatch(/^error: .*\/nonexistent\/libvirt-sock/);
  expect(rest).toEqual(['']);
});

/**
 * Our checkpoint commands against virsh 9.0's. First twin guests go through the same script of changes
 * (checkpoint-create-as, checkpoint-delete with its flags), virsh on one and our CLI on the other, with equal
 * outcomes after every step (normalized only for the guest's name and creation times, which differ between
 * twins). Then every read-only command runs through both tools on one guest: identical bytes required.
 */
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { both, ours, virsh, type Outcome, guestName } from './cli-peer';

const theirsDom = guestName('cli-chk-v');
const oursDom = guestName('cli-chk-o');
let uri: string;

beforeAll(async () => {
  uri = sandbox().unixUri;
  await Promise.all([createGuest(theirsDom), createGuest(oursDom)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([removeGuest(theirsDom), removeGuest(oursDom)]);
}, 120_000);

function normalized(o: Outcome, guest: string): Outcome {
  const n = (text: string): string => text.split(guest).join('GUEST').replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME');
  return { code: o.code, stdout: n(o.stdout), stderr: n(o.stderr) };
}

// c1 ─ c2 ─┬─ c3          (and x1 ─ x2, created and removed along the way)
//          └─ ... deleted
const script: [string[], boolean][] = [
  [['checkpoint-create-as', '%', 'c1', 'desc one'], true],
  [['checkpoint-create-as', '%', '--name', 'c2'], true],
  [['checkpoint-create-as', '%', 'c3', '--diskspec', 'vda,checkpoint=bitmap,bitmap=c3'], true],
  [['checkpoint-create-as', '%', 'c3'], false],
  [['checkpoint-create-as', '%', 'x1', 'd', 'vda,checkpoint=bitmap,bitmap=nope,extra'], false],
  [['checkpoint-list', '%', '--tree'], true],
  [['-q', 'checkpoint-create-as', '%', 'x1'], true],
  [['checkpoint-create-as', '%', 'x2'], true],
  [['checkpoint-delete', '%', 'x1', '--children-only'], true],
  [['checkpoint-list', '%', '--parent'], true],
  [['checkpoint-delete', '%', 'x1', '--metadata'], true],
  [['checkpoint-list', '%', '--name'], true],
  [['checkpoint-create-as', '%', 'y1'], true],
  [['checkpoint-delete', '%', 'c3'], true],
  [['checkpoint-delete', '%', 'nosuch'], false],
  [['checkpoint-delete', '%', 'c1', '--children', '--children-only'], false],
  [['checkpoint-create-as', '%', 'c3'], true],
  [['checkpoint-list', '%', '--tree'], true],
];

test('the same changes give the same outcomes with virsh and with our CLI', async () => {
  for (const [args, ok] of script) {
    const step = args.join(' ');
    const theirs = normalized(await virsh(uri, args.map((a) => a.replace('%', theirsDom))), theirsDom);
    const mine = normalized(await ours(uri, args.map((a) => a.replace('%', oursDom))), oursDom);
    expect({ step, ok: theirs.code === 0 }).toEqual({ step, ok });
    expect({ step, ...mine }).toEqual({ step, ...theirs });
  }
}, 60_000);

describe('read-only commands print what virsh prints', () => {
  const cases: string[][] = [
    ['checkpoint-list', '%'],
    ['-q', 'checkpoint-list', '%'],
    ['checkpoint-list', '%', '--parent'],
    ['checkpoint-list', '%', '--tree'],
    ['-q', 'checkpoint-list', '%', '--tree'],
    ['checkpoint-list', '%', '--name'],
    ['checkpoint-list', '%', '--topological'],
    ['checkpoint-list', '%', '--roots'],
    ['checkpoint-list', '%', '--leaves', '--parent'],
    ['checkpoint-list', '%', '--no-leaves'],
    ['checkpoint-list', '%', '--from', 'c1'],
    ['checkpoint-list', '%', 'c1', '--descendants'],
    ['checkpoint-list', '%', '--from', 'c1', '--tree'],
    ['checkpoint-list', '%', '--from', 'c1', '--tree', '--descendants'],
    ['checkpoint-info', '%', 'c1'],
    ['checkpoint-info', '%', '--checkpointname', 'c2'],
    ['-q', 'checkpoint-info', '%', 'y1'],
    ['checkpoint-dumpxml', '%', 'c1'],
    ['checkpoint-dumpxml', '%', 'c2', '--no-domain'],
    ['checkpoint-dumpxml', '%', 'c2', '--no-domain', '--size'],
    ['checkpoint-dumpxml', '%', 'c3', '--security-info', '--no-domain'],
    ['checkpoint-parent', '%', 'c2'],
    ['checkpoint-create-as', '%', '--print-xml', 'x', 'y', '--diskspec', 'vda,checkpoint=bitmap,bitmap=b1', '--diskspec', 'vdb,checkpoint=no'],
    ['checkpoint-create-as', '%', '--print-xml', 'n', 'd', 'e', 'f'],
  ];
  test.each(cases.map((c) => [c.join(' '), c]))('%s', async (_label, args) => {
    const [theirs, mine] = await both(uri, (args as string[]).map((a) => a.replace('%', theirsDom)));
    expect(theirs.code).toBe(0);
    expect(mine).toEqual(theirs);
  });
});

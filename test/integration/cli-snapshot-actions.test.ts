/**
 * Our snapshot commands that change state (snapshot-create-as, snapshot-revert, snapshot-delete, setting the
 * current snapshot with snapshot-current) do what virsh's do and say what virsh's say. Two twin guests: the
 * same script of commands runs with virsh on one and with our CLI on the other, step by step; after each step
 * both outcomes must match, and the read-back steps in the script (list, tree, info, current) show that both
 * guests went through the same states. Outputs differ only by the guest's name and by creation times (the
 * twins' snapshots are taken at slightly different moments); those two are normalized, nothing else.
 */
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { ours, virsh, type Outcome, guestName } from './cli-peer';

const theirsDom = guestName('cli-act-v');
const oursDom = guestName('cli-act-o');
let uri: string;

beforeAll(async () => {
  uri = sandbox().unixUri;
  await Promise.all([createGuest(theirsDom), createGuest(oursDom)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([removeGuest(theirsDom), removeGuest(oursDom)]);
}, 120_000);

/** The script: `%` is the guest; `ok` says whether the step succeeds (for virsh, and so for us). */
const script: [string[], boolean][] = [
  [['snapshot-create-as', '%', 's1', 'first one'], true],
  [['snapshot-create-as', '%', '--name', 's2', '--atomic'], true],
  [['snapshot-create-as', '%', 's3', '--description', 'third', '--validate'], true],
  [['snapshot-create-as', '%', 's3'], false],
  [['snapshot-revert', '%', 's1'], true],
  [['snapshot-create-as', '%', 's4'], true],
  [['snapshot-list', '%', '--tree'], true],
  [['snapshot-current', '%', '--name'], true],
  [['snapshot-current', '%', 's2'], true],
  [['snapshot-current', '%', '--name'], true],
  [['snapshot-info', '%', '--current'], true],
  [['snapshot-revert', '%', '--current', '--paused'], true],
  [['domstate', '%'], true],
  [['snapshot-revert', '%', 's4', '--running', '--force'], true],
  [['domstate', '%'], true],
  [['-q', 'snapshot-create-as', '%', 'quiet1'], true],
  [['snapshot-delete', '%', 'quiet1'], true],
  [['snapshot-delete', '%', 's3'], true],
  [['snapshot-delete', '%', 's1', '--children-only'], true],
  [['snapshot-list', '%', '--tree'], true],
  [['snapshot-create-as', '%', 'm1'], true],
  [['snapshot-delete', '%', '--current', '--metadata'], true],
  [['snapshot-list', '%', '--parent'], true],
  [['snapshot-revert', '%', 'nosuch'], false],
  [['snapshot-delete', '%', 's1', '--children', '--children-only'], false],
  [['snapshot-create-as', '%', 'ext1', '--disk-only', '--diskspec', 'vda,snapshot=external'], true],
  [['snapshot-info', '%', 'ext1'], true],
  [['snapshot-current', '%', 'ext1'], true],
  [['snapshot-list', '%', '--external', '--parent'], true],
  [['snapshot-delete', '%', 's1', '--children', '--metadata'], true],
  [['snapshot-list', '%'], true],
];

/** The outcome with the guest's name and creation times made comparable between the twins. */
function normalized(o: Outcome, guest: string): Outcome {
  const n = (text: string): string => text.split(guest).join('GUEST').replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME');
  return { code: o.code, stdout: n(o.stdout), stderr: n(o.stderr) };
}

test('the same script gives the same outcomes and states with virsh and with our CLI', async () => {
  for (const [args, ok] of script) {
    const step = args.join(' ');
    const theirs = normalized(await virsh(uri, args.map((a) => a.replace('%', theirsDom))), theirsDom);
    // domstate is not one of our commands: the twin's state is read with virsh too.
    const mineRaw = args[0] === 'domstate' ? await virsh(uri, args.map((a) => a.replace('%', oursDom))) : await ours(uri, args.map((a) => a.replace('%', oursDom)));
    const mine = normalized(mineRaw, oursDom);
    expect({ step, code: theirs.code === 0 }).toEqual({ step, code: ok });
    expect({ step, ...mine }).toEqual({ step, ...theirs });
  }
}, 120_000);

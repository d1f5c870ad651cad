/**
 * The stream commands of the CLI against virsh on the same daemon: vol-upload and vol-download (plain, --sparse,
 * --offset/--length, and their failures) print what virsh prints and leave the same bytes and allocated blocks;
 * screenshot saves the same kind of image with virsh's line; console shows SeaBIOS's banner and leaves on ^];
 * a transfer past a second draws a progress line on a terminal's stderr, and nothing otherwise.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { connect, Connect, Domain, StoragePool } from '../../src/index';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { both, ours, virsh } from './cli-peer';
import { allocated, createVolume, deleteVolumes, pattern, poolOf, sameBytes, sparseFile, tempDir, uniqueName } from './streams-peer';

const MiB = 1024 * 1024;
const prefix = uniqueName('cli-streams');
const tmp = tempDir(prefix);
const file = (n: string) => path.join(tmp.dir, n);
let uri: string;
let conn: Connect;
let pool: StoragePool;

beforeAll(async () => {
  uri = sandbox().unixUri;
  conn = await connect(uri);
  pool = await poolOf(conn);
}, 60_000);

afterAll(async () => {
  if (pool) await deleteVolumes(pool, prefix);
  await conn?.close();
  tmp.remove();
}, 60_000);

test('vol-upload --sparse and vol-download --sparse print what virsh prints and leave the same bytes and blocks', async () => {
  const size = 24 * MiB + 5;
  sparseFile(file('src'), size, [{ offset: 100, length: 200_000 }, { offset: 13 * MiB + 1, length: MiB }]);
  const [theirs, mine] = [await createVolume(pool, `${prefix}-up-v`, size), await createVolume(pool, `${prefix}-up-o`, size)];
  const up = (vol: string) => ['vol-upload', vol, file('src'), '--pool', pool.getName(), '--sparse'];
  const [v, o] = [await virsh(uri, up(theirs.getName())), await ours(uri, up(mine.getName()))];
  expect(o).toEqual(v);
  expect(o.code).toBe(0);
  expect(sameBytes(await mine.getPath(), file('src'))).toBe(true);
  expect(sameBytes(await theirs.getPath(), file('src'))).toBe(true);
  expect(allocated(await mine.getPath())).toBe(allocated(await theirs.getPath()));

  const down = (f: string) => ['vol-download', mine.getName(), file(f), '--pool', pool.getName(), '--sparse'];
  const [dv, dn] = [await virsh(uri, down('down.virsh')), await ours(uri, down('down.ours'))];
  expect(dn).toEqual(dv);
  expect(sameBytes(file('down.ours'), file('src'))).toBe(true);
  expect(allocated(file('down.ours'))).toBe(allocated(file('down.virsh')));
}, 120_000);

test('--offset and --length, a volume named by path, and --json', async () => {
  const vol = await createVolume(pool, `${prefix}-ol`, MiB);
  await vol.upload(pattern(0, MiB, 4));
  const volPath = await vol.getPath();
  const [v, o] = await both(uri, ['vol-download', volPath, file('ol.x'), '--offset', '1000', '--length', '5000']);
  expect(o).toEqual(v);
  expect(fs.readFileSync(file('ol.x'))).toEqual(pattern(0, MiB, 4).subarray(1000, 6000));

  const j = await ours(uri, ['--json', 'vol-download', vol.getName(), file('ol.json'), '--pool', pool.getName(), '--length', '4096']);
  expect(j.code).toBe(0);
  expect(JSON.parse(j.stdout)).toEqual({ pool: pool.getName(), volume: vol.getName(), file: file('ol.json'), bytes: 4096, dataBytes: 4096, holeBytes: 0 });
}, 60_000);

test.each([
  ['no such volume', (p: string) => ['vol-download', 'nosuch', file('x'), '--pool', p]],
  ['no such volume without --pool', () => ['vol-download', 'nosuch', file('x')]],
  ['no such pool', () => ['vol-upload', 'nosuch', file('x'), '--pool', 'nosuch-pool']],
  ['a file that cannot be read', (p: string) => ['vol-upload', `${prefix}-err`, '/nonexistent/file', '--pool', p]],
  ['a file that cannot be created', (p: string) => ['vol-download', `${prefix}-err`, '/nonexistent/dir/file', '--pool', p]],
  ['a screenshot of a guest without a screen', () => ['screenshot', sandbox().guest.name, '--file', file('no.png')]],
])('%s: the same error lines and exit code as virsh', async (_what, args) => {
  if (!(await pool.listAllVolumes()).some((v) => v.getName() === `${prefix}-err`)) await createVolume(pool, `${prefix}-err`, 4096);
  const [v, o] = await both(uri, args(pool.getName()));
  expect(o).toEqual(v);
  expect(o.code).toBe(1);
  expect(fs.existsSync(file('x'))).toBe(false);
}, 60_000);

test('a transfer past a second draws a progress line on a terminal\'s stderr; none when piped or with -q', async () => {
  const vol = await createVolume(pool, `${prefix}-progress`, 64 * MiB);
  const run = async (stderrIsTTY: boolean, extra: string[] = []) => {
    let stderr = '';
    let clock = Date.now();
    const code = await runCli(['-c', uri, ...extra, 'vol-download', vol.getName(), '/dev/null', '--pool', pool.getName()], {
      stdout: { write: () => undefined },
      stderr: { write: (t) => void (stderr += t) },
      stderrIsTTY,
      env: process.env,
      now: () => new Date((clock += 150)), // every look at the clock is 150 ms later: the line must appear
    });
    return { code, stderr };
  };
  const tty = await run(true);
  expect(tty.code).toBe(0);
  // eslint-disable-next-line no-control-regex -- the line starts with the terminal escape that clears it
  expect(tty.stderr).toMatch(/^\r\x1b\[K\[[#-]{24}\] [\d.]+ (B|KiB|MiB) \/ 64.0 MiB {2}\d+% {2}[\d.]+ (B|KiB|MiB|GiB)\/s {2}ETA \d+:\d\d/);
  expect(tty.stderr).toMatch(/\[#{24}\] 64.0 MiB \/ 64.0 MiB {2}100% {2}[\d.]+ \w+\/s {2}ETA 0:00\n$/);
  expect(await run(false)).toEqual({ code: 0, stderr: '' });
  expect(await run(true, ['-q'])).toEqual({ code: 0, stderr: '' });
}, 120_000);

describe('on a guest with a screen and a serial console', () => {
  const name = `${prefix}-guest`;

  beforeAll(async () => {
    await createGuest(name, { console: true, start: false });
  }, 120_000);

  afterAll(async () => {
    await removeGuest(name);
  }, 120_000);

  test('console shows SeaBIOS\'s banner and leaves on ^] with exit code 0', async () => {
    const dom = await conn.getDomainByName(name);
    await dom.create(Domain.START_PAUSED);
    const main = path.resolve(__dirname, '../../src/cli/main.ts');
    const child = spawn(process.execPath, [path.resolve(__dirname, '../../scripts/ts-run.cjs'), main, '-c', uri, 'console', name], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const until = async (re: RegExp) => {
      const end = Date.now() + 60_000;
      while (!re.test(out)) {
        if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(out)} (stderr ${err})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(/Escape character is \^\] \(Ctrl \+ \]\)\n/);
    expect(out.startsWith(`Connected to domain '${name}'\n`)).toBe(true);
    await dom.resume();
    await until(/SeaBIOS \(version/);
    child.stdin.write(Buffer.from([0x1d]));
    expect(await exited).toBe(0);
    expect(err).toBe('');
  }, 120_000);

  test('screenshot saves the image with virsh\'s line', async () => {
    const [v, o] = [await both(uri, ['screenshot', name, '--file', file('shot.virsh')]), await ours(uri, ['screenshot', name, '--file', file('shot.ours')])];
    expect(o.code).toBe(0);
    expect(o.stdout.replace('shot.ours', 'shot.virsh')).toBe(v[0].stdout);
    expect(fs.readFileSync(file('shot.ours')).subarray(0, 4)).toEqual(fs.readFileSync(file('shot.virsh')).subarray(0, 4));
  }, 60_000);
});

/** `libvirt-rpc schedule ...` as a user runs it: a real process against the sandbox, on a fresh guest. */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';

jest.setTimeout(120_000);
const sb = sandbox();
// Unique per run: test files that share a jest worker share its pid.
const GUEST = `cli-sched-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const ROOT = path.resolve(__dirname, '..', '..');
const CLI = [path.join(ROOT, 'scripts', 'ts-run.cjs'), path.join(ROOT, 'src', 'cli', 'main.ts')];
const POLICY = ['--base', '1s', '--levels', '3', '--slots', '2', '--keep-last', '2'];

function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = execFile(process.execPath, [...CLI, '-c', sb.unixUri, ...args], { timeout: 60000 }, (_e, out, err) => resolve({ code: p.exitCode ?? -1, out, err }));
  });
}

beforeAll(() => createGuest(GUEST));
afterAll(() => removeGuest(GUEST));

test('run, list with durations and keep reasons, plan as JSON', async () => {
  const first = await cli('schedule', 'run', GUEST, ...POLICY);
  expect(first.code).toBe(0);
  expect(first.out).toMatch(/^Created lvrpc-\d{8}T\d{6}\.\d{3}Z in \d+/m);
  await new Promise((r) => setTimeout(r, 1100));
  expect((await cli('schedule', 'run', GUEST, ...POLICY)).out).toMatch(/^Created /m);
  const list = await cli('schedule', 'list', GUEST, ...POLICY);
  expect(list.code).toBe(0);
  expect(list.out).toMatch(/Name\s+Created\s+Duration\s+Kind\s+Quiesced\s+Keep reasons/);
  expect(list.out).toMatch(/newest complete snapshot/);
  expect(list.out.match(/^ lvrpc-/gm)).toHaveLength(2);
  const plan = JSON.parse((await cli('schedule', 'plan', GUEST, ...POLICY, '--json')).out);
  // The two snapshots, and the next one when its (1 s) slot has begun meanwhile; each kept or to be deleted.
  const listed = list.out.match(/^ (lvrpc-\S+)/gm)!.map((l) => l.trim());
  const planned = [...plan.keep.map((k: { id: string }) => k.id), ...plan.delete];
  expect(planned.sort()).toEqual([...listed, ...(plan.wouldCreate ? [plan.wouldCreate] : [])].sort());
  expect(plan.keep.length).toBeGreaterThanOrEqual(2);
  expect(plan.keep[0].reasons.length).toBeGreaterThan(0);
  expect('expectedDeletion' in plan.keep[0]).toBe(true);
});

test('daemon: SIGTERM lets the pass finish and exits 0 with the lock released', async () => {
  const p = spawn(process.execPath, [...CLI, '-c', sb.unixUri, 'schedule', 'daemon', GUEST, ...POLICY], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  await new Promise((r) => setTimeout(r, 5000));
  const code = await new Promise<number | null>((resolve) => {
    p.once('exit', (c) => resolve(c));
    p.kill('SIGTERM');
  });
  expect(code).toBe(0);
  expect(out).toMatch(/created lvrpc-/);
  const json = JSON.parse((await cli('schedule', 'list', GUEST, ...POLICY, '--json')).out);
  expect(json.state.paused).toBeNull();
  // The lock is gone: another pass can run at once.
  expect((await cli('schedule', 'run', GUEST, ...POLICY)).code).toBe(0);
});

test('daemon --every 4w --for 4w: one pass, then a wait in steps until SIGTERM (a single timer would fire after 1 ms)', async () => {
  const p = spawn(process.execPath, [...CLI, '-c', sb.unixUri, 'schedule', 'daemon', GUEST, ...POLICY, '--every', '4w', '--for', '4w', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
  try {
    for (const end = Date.now() + 60_000; !out.includes('"waiting"'); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > end || p.exitCode !== null) throw new Error(`the daemon did not reach its first wait: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
    expect(p.exitCode).toBeNull();
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; untilMs?: number });
    expect(events.filter((e) => e.type === 'waiting')).toHaveLength(1);
    // Until the next 4-week slot (slots are counted from the epoch): days away.
    expect(events.find((e) => e.type === 'waiting')!.untilMs! - Date.now()).toBeGreaterThan(86_400_000);
  } finally {
    p.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

test('schedule --every 1e308 and --for 1e308 are refused, naming the option', async () => {
  const every = await cli('schedule', 'run', GUEST, ...POLICY, '--every', '1e308');
  expect(every.code).toBe(1);
  const huge = await cli('schedule', 'daemon', GUEST, ...POLICY, '--for', `${'9'.repeat(20)}w`);
  expect(huge.code).toBe(1);
  expect(huge.err).toMatch(/--for/);
});

test('config files: parsed safely, every error names the field', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-cfg-'));
  const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
  try {
    const bad = await cli('schedule', 'plan', GUEST, '--config', write('a.json', '{"policy": {"baseMs": "1s", "levels": 3, "slots": 2, "keepLast": 0}}'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/policy\.keepLast/);
    const proto = await cli('schedule', 'plan', GUEST, '--config', write('b.json', '{"__proto__": {"x": 1}, "policy": {}}'));
    expect(proto.code).toBe(1);
    expect(proto.err).toMatch(/not valid JSON|prototype/i);
    const unknown = await cli('schedule', 'plan', GUEST, '--config', write('c.json', '{"policy": {"baseMs": 1000, "levels": 1, "slots": 1, "keepLast": 1}, "evry": "1m"}'));
    expect(unknown.err).toMatch(/evry: unknown field/);
    const good = await cli('schedule', 'plan', '--config', write('d.json', JSON.stringify({ domain: GUEST, policy: { baseMs: '1s', levels: 3, slots: 2, keepLast: 2 } })));
    expect(good.code).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

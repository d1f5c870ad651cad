/**
 * The CLI over SASL: credentials from auth.conf (same output as virsh with the same file); with no terminal
 * and nothing in auth.conf, a clear error instead of a wait; on a terminal (a real pty, driven by
 * /usr/bin/python3), the user name and password are asked for, the password without echo.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { createGuest, removeGuest, virsh as sandboxVirsh } from '../../scripts/sandbox/guest';
import { sandbox } from '../helpers/sandbox';
import { guestName } from '../helpers/guest';
import { logMark, loginsSince, sasl, testDir, virshEnv, withEnv } from './sasl-peer';

const name = guestName('sasl-cli');
const host = () => ({ root: sandbox().root, uid: sandbox().uid, gid: sandbox().gid, unixUri: sasl().unixUriWithAuthFile });
const ROOT = path.join(__dirname, '..', '..');

beforeAll(async () => {
  await createGuest(host(), name, { start: false });
  await sandboxVirsh(host(), ['snapshot-create-as', name, 'offline-1', '--description', 'made by virsh']);
}, 120_000);

afterAll(async () => {
  await removeGuest(host(), name);
}, 120_000);

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: { write: (t) => void (stdout += t) }, stderr: { write: (t) => void (stderr += t) }, env });
  return { code, stdout, stderr };
}

test('credentials from auth.conf: the same listing as virsh with the same file', async () => {
  const env = withEnv({ LIBVIRT_AUTH_FILE: sasl().authFile });
  const ours = await cli(['-c', sasl().tlsUri, 'snapshot-list', name], env);
  const theirs = await virshEnv(sasl().tlsUri, ['snapshot-list', name], env);
  expect(ours.code).toBe(0);
  expect(ours.stdout).toBe(theirs.stdout);
  expect(ours.stdout).toContain('offline-1');
});

test('no terminal and no auth.conf: a clear error at once, pointing to auth.conf', async () => {
  const t0 = Date.now();
  const r = await cli(['-c', sasl().unixUri, 'snapshot-list', name], withEnv({ HOME: testDir('cli-none') }));
  expect(Date.now() - t0).toBeLessThan(20_000);
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toBe('error: failed to connect to the hypervisor');
  expect(lines[1]).toMatch(/^error: the daemon asks for a SASL user name \(SCRAM-SHA-256\) for localhost: no auth.conf was found/);
  expect(lines[2]).toMatch(/^error: stdin is not a terminal, so nothing can be asked: put the credentials in libvirt's auth.conf/);
});

const DRIVE_PTY = String.raw`
import os, pty, select, sys, time
user, password = os.environ.pop('T_USER'), os.environ.pop('T_PASS')
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def more(deadline):
    global out
    r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
    if not r:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return None
    out += chunk
    return bool(chunk) or None
def until(token):
    deadline = time.time() + 60
    while token not in out:
        if not more(deadline):
            sys.stdout.buffer.write(out)
            sys.exit(90)
until(b'SASL user name')
os.write(fd, user.encode() + b'\r')
until(b'Password for')
os.write(fd, password.encode() + b'\r')
deadline = time.time() + 60
while more(deadline):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

test('on a terminal: asks for the user name (echoed) and the password (not echoed), then runs', async () => {
  const alice = sasl().users.alice;
  const env = { ...withEnv({ HOME: testDir('cli-pty') }), T_USER: alice.name, T_PASS: alice.password };
  const mark = logMark();
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile('/usr/bin/python3', ['-c', DRIVE_PTY, process.execPath, path.join(ROOT, 'scripts', 'ts-run.cjs'), path.join(ROOT, 'src', 'cli', 'main.ts'),
      '-c', sasl().unixUri, 'snapshot-list', name], { env, timeout: 120_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, out: stdout });
    });
  });
  expect(r.out).toMatch(/SASL user name for libvirt on localhost: alice\r?\n/);
  expect(r.out).toMatch(/Password for alice on localhost: \r?\n/);
  expect(r.out).not.toContain(alice.password);
  expect(r.out).toContain('offline-1');
  expect(r.code).toBe(0);
  expect(loginsSince(mark)).toEqual([{ fd: expect.any(Number), mechanism: 'SCRAM-SHA-256', username: 'alice' }]);
}, 150_000);

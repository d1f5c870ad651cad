/**
 * `npm run sandbox -- env` prints URIs that connect as printed: with libvirt-rpc and with libvirt's own virsh,
 * from a shell with nothing of ours in it (an empty HOME, so no ~/.ssh/known_hosts to lean on).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src';
import { sandbox } from '../helpers/sandbox';

const REPO = path.resolve(__dirname, '../..');
let home: string;
let vars: Record<string, string>;

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 60_000, killSignal: 'SIGKILL', cwd: REPO }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const info = sandbox();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-env-home-'));
  const env = { PATH: process.env.PATH, HOME: home, LIBVIRT_RPC_SANDBOX_DIR: info.root };
  // Through the shell, as a person would: eval the export lines, then print the variables.
  const r = await sh('/bin/sh', ['-c', 'eval "$(node scripts/ts-run.cjs scripts/sandbox/main.ts env)" && env'], env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  vars = Object.fromEntries(r.stdout.split('\n').filter((l) => l.startsWith('LIBVIRT')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}, 90_000);
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const URIS = ['LIBVIRT_DEFAULT_URI', 'LIBVIRT_RPC_SANDBOX_UNIX_URI', 'LIBVIRT_RPC_SANDBOX_TCP_URI', 'LIBVIRT_RPC_SANDBOX_TLS_URI', 'LIBVIRT_RPC_SANDBOX_SSH_URI'];

test.each(URIS)('%s connects as printed with libvirt-rpc (HOME has no known_hosts)', async (name) => {
  const uri = vars[name];
  expect(uri).toBeTruthy();
  const conn = await connect(uri, { env: { HOME: home, PATH: process.env.PATH }, timeout: 30_000 });
  try {
    expect(await conn.getHostname({ timeout: 30_000 })).toBe(os.hostname());
    expect((await conn.getDomainByName(vars.LIBVIRT_RPC_SANDBOX_GUEST, { timeout: 30_000 })).getName()).toBe('sandbox-guest');
  } finally {
    await conn.close();
  }
});

test.each(URIS)('%s connects as printed with virsh', async (name) => {
  const r = await sh('virsh', ['-c', vars[name], 'domstate', vars.LIBVIRT_RPC_SANDBOX_GUEST], { PATH: process.env.PATH, HOME: home });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('running');
});

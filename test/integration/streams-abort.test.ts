/**
 * Ending transfers early, against real daemons: an abort from our side (download and upload), as libvirt's own
 * client behaves (python3-libvirt as the oracle); a reader that stops reading (memory stays bounded, the daemon
 * is held back, calls that wait behind the stream fail with TimeoutError, keepalive does not kill the
 * connection, and everything flows again afterwards); and the daemon killed mid-transfer (a private daemon),
 * which fails the transfer with ConnectionClosedError and removes the file a download created.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AbortError, connect, ConnectionClosedError, Connect, fileSink, StoragePool, StreamClosedError, TimeoutError, type StorageVol,
} from '../../src/index';
import { startPrivateDaemon } from '../helpers/private-daemon';
import { sandbox } from '../helpers/sandbox';
import { createVolume, deleteVolumes, poolOf, tempDir, uniqueName } from './streams-peer';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const prefix = uniqueName('streams-abort');
const tmp = tempDir(prefix);
let conn: Connect;
let pool: StoragePool;
let big: StorageVol;

beforeAll(async () => {
  conn = await connect(sandbox().unixUri);
  pool = await poolOf(conn);
  // Allocates nothing: a download without the sparse flag still sends 1 GiB of zeros.
  big = await createVolume(pool, `${prefix}-big`, GiB);
}, 60_000);

afterAll(async () => {
  if (pool) await deleteVolumes(pool, prefix);
  await conn?.close();
  tmp.remove();
}, 60_000);

/** What libvirt's client does when a download is aborted after its first bytes: abort's result, then recv's error. */
function pythonAbort(volName: string): Promise<{ abort: number; recvError: string }> {
  const py = String.raw`
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
vol = c.storagePoolLookupByName(sys.argv[2]).storageVolLookupByName(sys.argv[3])
st = c.newStream(0)
vol.download(st, 0, 0, 0)
st.recv(262120)
r = st.abort()
try:
    st.recv(10)
    err = ''
except libvirt.libvirtError as e:
    err = e.get_error_message()
print(json.dumps({'abort': r, 'recvError': err}))
`;
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', py, sandbox().unixUri, pool.getName(), volName], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(stderr || err.message));
      else resolve(JSON.parse(stdout));
    });
  });
}

test('aborting a download mid-transfer: confirmed by the daemon, then "stream is closed", as libvirt\'s client', async () => {
  const st = await big.openDownload();
  let got = 0;
  while (got < 4 * MiB) {
    const item = await st.receive({ timeout: 30_000 });
    if (item instanceof Uint8Array) got += item.length;
  }
  await st.abort();
  expect(st.state).toBe('aborted');
  const err = (await st.receive().catch((e: unknown) => e)) as Error;
  expect(err).toBeInstanceOf(StreamClosedError);

  const libvirt = await pythonAbort(big.getName());
  expect(libvirt.abort).toBe(0);
  expect(libvirt.recvError).toContain('stream is closed');
  expect(err.message).toContain('stream is closed');

  // The connection and the volume are as usable as before.
  expect(await conn.getLibVersion()).toBeGreaterThanOrEqual(9_000_000);
  const small = await createVolume(pool, `${prefix}-small`, 300_000);
  await small.upload(new Uint8Array(300_000).fill(9));
  let sum = 0;
  await small.download({ write: (d) => void d.forEach((b) => (sum += b)) });
  expect(sum).toBe(9 * 300_000);
}, 120_000);

test('aborting an upload through its signal: AbortError, the stream aborted, the connection usable', async () => {
  const vol = await createVolume(pool, `${prefix}-up`, 64 * MiB);
  const ctl = new AbortController();
  let sent = 0;
  const chunk = new Uint8Array(MiB).fill(3);
  async function* endless() {
    for (;;) {
      yield chunk;
      sent += chunk.length;
      if (sent === 8 * MiB) ctl.abort();
    }
  }
  const err = await vol.upload(endless(), { signal: ctl.signal }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AbortError);
  expect(sent).toBeLessThan(16 * MiB);
  expect(await conn.getLibVersion()).toBeGreaterThanOrEqual(9_000_000);
  await vol.delete();
}, 60_000);

test('a reader that stops reading holds the daemon back: bounded memory, typed errors, then it all flows again', async () => {
  // Keepalive that would give up after about 1.5 s of silence: the paused reader must not count as silence.
  const c = await connect(sandbox().unixUri, { keepalive: { interval: 500, count: 2 } });
  try {
    // 256 MiB of zeros on the wire: read without pausing, all of it would pile up in memory.
    const vol = await (await c.getStoragePoolByName(pool.getName())).createVolume(
      `<volume><name>${prefix}-stall</name><capacity>${256 * MiB}</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>`,
    );
    const rssBefore = process.memoryUsage().rss;
    const st = await vol.openDownload();
    const first = await st.receive({ timeout: 30_000 });
    expect(first).toBeInstanceOf(Uint8Array);
    await new Promise((r) => setTimeout(r, 3000)); // nobody reads
    expect(c.raw.rpc.readPaused).toBe(true);
    expect(st.queuedBytes).toBeLessThanOrEqual(4 * MiB + 4 * 262_120);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MiB);
    // A call's reply waits behind the stream's data: it times out, typed, and the connection stays.
    await expect(c.getLibVersion({ timeout: 1000 })).rejects.toBeInstanceOf(TimeoutError);
    expect(c.isAlive()).toBe(true);

    let total = (first as Uint8Array).length;
    for (;;) {
      const item = await st.receive({ timeout: 60_000 });
      if (item === null) break;
      if (item instanceof Uint8Array) {
        total += item.length;
        st.recycle(item);
      }
    }
    await st.finish();
    expect(total).toBe(256 * MiB);
    expect(c.raw.rpc.readPaused).toBe(false);
    expect(await c.getLibVersion({ timeout: 10_000 })).toBeGreaterThanOrEqual(9_000_000);
  } finally {
    await c.close();
  }
}, 180_000);

describe('the daemon killed mid-transfer (a private daemon)', () => {
  test('a download fails with ConnectionClosedError and the file it created is removed; an upload fails the same way', async () => {
    const sb = sandbox();
    const d = await startPrivateDaemon();
    const dir = tempDir(`${prefix}-priv`);
    const poolDir = path.join(dir.dir, 'pool');
    fs.mkdirSync(poolDir);
    fs.chmodSync(dir.dir, 0o755);
    if (process.geteuid?.() === 0) fs.chownSync(poolDir, sb.uid, sb.gid);
    try {
      const c = await connect(`qemu+unix:///session?socket=${d.socket}`);
      const p = await c.createStoragePool(`<pool type='dir'><name>${prefix}</name><target><path>${poolDir}</path></target></pool>`);
      const vol = await createVolume(p, 'v', GiB);

      const out = path.join(dir.dir, 'download.img');
      let killed = false;
      const down = vol.download(await fileSink(out), {
        onProgress: ({ bytes }) => {
          if (!killed && bytes >= 8 * MiB) {
            killed = true;
            d.kill();
          }
        },
      });
      const err = await down.catch((e: unknown) => e);
      expect(killed).toBe(true);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(fs.existsSync(out)).toBe(false);
      expect(c.isAlive()).toBe(false);
    } finally {
      await d.cleanup();
      dir.remove();
    }

    const d2 = await startPrivateDaemon();
    const dir2 = tempDir(`${prefix}-priv2`);
    const poolDir2 = path.join(dir2.dir, 'pool');
    fs.mkdirSync(poolDir2);
    fs.chmodSync(dir2.dir, 0o755);
    if (process.geteuid?.() === 0) fs.chownSync(poolDir2, sb.uid, sb.gid);
    try {
      const c = await connect(`qemu+unix:///session?socket=${d2.socket}`);
      const p = await c.createStoragePool(`<pool type='dir'><name>${prefix}</name><target><path>${poolDir2}</path></target></pool>`);
      const vol = await createVolume(p, 'v', 256 * MiB);
      const chunk = new Uint8Array(MiB).fill(5);
      let sent = 0;
      async function* endless() {
        for (;;) {
          yield chunk;
          sent += chunk.length;
          if (sent === 8 * MiB) d2.kill();
        }
      }
      const err = await vol.upload(endless()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect(sent).toBeLessThan(256 * MiB);
    } finally {
      await d2.cleanup();
      dir2.remove();
    }
  }, 120_000);
});

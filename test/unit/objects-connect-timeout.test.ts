/** connect() bounds the whole open by the caller's timeout and reports that bound, against a daemon that never answers. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, TimeoutError } from '../../src';

test('a silent daemon: TimeoutError naming the bound the caller gave, within about that bound', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-silent-'));
  const sock = path.join(dir, 'sock');
  const peers: net.Socket[] = [];
  const server = net.createServer((c) => void peers.push(c)); // accepts, reads, never answers
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const t0 = Date.now();
    const err = await connect(`qemu+unix:///session?socket=${sock}`, { timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('opening the connection took longer than 300 ms');
    expect(Date.now() - t0).toBeLessThan(2000);
  } finally {
    for (const p of peers) p.destroy();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Backup jobs on a running QEMU guest: an incremental push backup from a checkpoint to a qcow2 file, creating
 * a new checkpoint at the same instant, runs to completion (job polled, bounded) and the new checkpoint is
 * listed as the old one's child; a pull backup over a unix-socket NBD server stays up until aborted, and
 * meanwhile its XML describes it; with no job, the daemon says there is no backup.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Domain, DomainCheckpoint as C, RemoteError } from '../../src/index';
import { useGuest } from '../helpers/guest';

const g = useGuest('objects-backup');
const long = { timeout: 60_000 };

/** Polls until the domain has no job (bounded); returns how many polls it took. */
async function jobGone(limitMs = 60_000): Promise<number> {
  const end = Date.now() + limitMs;
  for (let polls = 1; ; polls++) {
    if ((await g.dom.getJobInfo()).type === Domain.JOB_NONE) return polls;
    if (Date.now() > end) throw new Error(`the job still runs after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('with no job, the backup XML is the daemon\'s VIR_ERR_NO_DOMAIN_BACKUP', async () => {
  const e = await g.dom.backupGetXMLDescription().then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(RemoteError);
  expect((e as RemoteError).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_BACKUP');
});

test('an incremental push backup from a checkpoint completes and lists its new checkpoint', async () => {
  await g.dom.createCheckpoint({ name: 'base' }, 0, long);
  const target = path.join(g.guest.dir, 'incremental.qcow2');
  await g.dom.backupBegin(
    { incremental: 'base', disks: [{ name: 'vda', type: 'file', target, format: 'qcow2' }] },
    { name: 'after-backup', description: 'made with the backup' },
    0,
    long,
  );
  await jobGone();
  const [type, stats] = await g.dom.getJobStats(Domain.JOB_STATS_COMPLETED);
  expect(type).toBe(Domain.JOB_COMPLETED);
  expect(stats).toMatchObject({ operation: Domain.JOB_OPERATION_BACKUP, success: true });

  const all = await g.dom.listAllCheckpoints(C.LIST_TOPOLOGICAL);
  expect(all.map((c) => c.getName())).toEqual(['base', 'after-backup']);
  const made = await all[1].describe();
  expect(made).toMatchObject({ parent: 'base', description: 'made with the backup' });
  expect(made.disks).toEqual([expect.objectContaining({ name: 'vda', checkpoint: 'bitmap', bitmap: 'after-backup' })]);

  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', target], { encoding: 'utf8', timeout: 20_000 })) as Record<string, unknown>;
  expect(info.format).toBe('qcow2');
  expect(info['virtual-size']).toBe(64 * 1024 * 1024);
}, 120_000);

test('a pull backup serves NBD until aborted; its XML describes it meanwhile', async () => {
  const socket = path.join(g.guest.dir, 'nbd.sock');
  const scratch = path.join(g.guest.dir, 'scratch.qcow2');
  await g.dom.backupBegin(
    { mode: 'pull', incremental: 'after-backup', server: { transport: 'unix', socket }, disks: [{ name: 'vda', scratch }] },
    null,
    0,
    long,
  );
  const job = await g.dom.getJobInfo();
  expect(job.type).not.toBe(Domain.JOB_NONE);
  const described = await g.dom.backupDescribe();
  expect(described).toMatchObject({ mode: 'pull', incremental: 'after-backup' });
  expect(described.xml).toContain(socket);
  expect(fs.existsSync(socket)).toBe(true);
  await g.dom.abortJob();
  await jobGone();
  expect(await g.dom.getJobInfo()).toMatchObject({ type: Domain.JOB_NONE });
  expect((await g.dom.listAllCheckpoints()).map((c) => c.getName()).sort()).toEqual(['after-backup', 'base']);
}, 120_000);

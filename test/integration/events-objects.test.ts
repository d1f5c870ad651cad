/**
 * Storage pool, secret and network events from the sandbox's real daemon, compared with what libvirt's C client
 * (python3-libvirt's event loop) receives for the same actions in the same run: a dir pool defined, built,
 * started, refreshed, stopped and undefined; a secret defined, given a value and undefined; a network defined
 * and undefined (the session daemon cannot start one: that needs root to make a bridge). The network's
 * metadata-change event (libvirt 9.8) is refused by this 9.0 daemon with a typed error naming its version.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as R from '../../generated/remote-procedures';
import { connect, uuidString, type Connect } from '../../src/index';
import { UnsupportedEventError, type EventGap, type EventSubscription } from '../../src/events/index';
import { sandbox } from '../helpers/sandbox';
import { asCEvent, CEventListener, type CEvent } from '../helpers/py-events';
import { guestName } from '../helpers/guest';

let conn: Connect;

beforeAll(async () => {
  conn = await connect(sandbox().unixUri);
}, 60_000);

afterAll(async () => {
  await conn?.close();
});

function collect(sub: EventSubscription<object>): CEvent[] {
  const got: CEvent[] = [];
  void (async () => {
    for await (const ev of sub as EventSubscription<object | EventGap>) got.push(asCEvent(ev as never));
  })().catch(() => undefined);
  return got;
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('storage pool, secret and network events match python3-libvirt for the same actions', async () => {
  const sb = sandbox();
  const py = await CEventListener.start(sb.unixUri, { domain: false, families: ['network', 'storage-pool', 'secret'] });
  const pools = conn.events.storagePool('*');
  const secrets = conn.events.secret('*');
  const nets = conn.events.network('lifecycle');
  try {
    await Promise.all([pools.ready, secrets.ready, nets.ready]);
    const ours = { 'storage-pool': collect(pools), secret: collect(secrets), network: collect(nets) };

    const poolName = guestName('events-pool');
    const dir = path.join(sb.root, 'guests', poolName);
    const { pool } = await conn.raw.call(R.storagePoolDefineXml, { xml: `<pool type='dir'><name>${poolName}</name><target><path>${dir}</path></target></pool>`, flags: 0 });
    await conn.raw.call(R.storagePoolBuild, { pool, flags: 0 });
    await conn.raw.call(R.storagePoolCreate, { pool, flags: 0 });
    await conn.raw.call(R.storagePoolRefresh, { pool, flags: 0 });
    await conn.raw.call(R.storagePoolDestroy, { pool });
    await conn.raw.call(R.storagePoolUndefine, { pool });
    fs.rmSync(dir, { recursive: true, force: true });

    const usage = `/var/lib/events-test/${poolName}.img`;
    const { secret } = await conn.raw.call(R.secretDefineXml, {
      xml: `<secret ephemeral='no' private='yes'><usage type='volume'><volume>${usage}</volume></usage></secret>`, flags: 0,
    });
    await conn.raw.call(R.secretSetValue, { secret, value: new TextEncoder().encode('s3cret'), flags: 0 });
    await conn.raw.call(R.secretUndefine, { secret });

    const netName = guestName('events-net');
    const { net } = await conn.raw.call(R.networkDefineXml, { xml: `<network><name>${netName}</name><bridge name='virbr-${netName.slice(-6)}'/></network>` });
    await conn.raw.call(R.networkUndefine, { net });

    const mine = (family: keyof typeof ours, object: string) => (l: CEvent[]) => l.filter((e) => e.family === family && e.object === object);
    const secretUuid = uuidString(secret.uuid);
    const cases = [
      { family: 'storage-pool' as const, object: poolName, count: 6 },
      { family: 'secret' as const, object: secretUuid, count: 3 },
      { family: 'network' as const, object: netName, count: 2 },
    ];
    for (const c of cases) {
      const pick = mine(c.family, c.object);
      await until(() => pick(ours[c.family]).length >= c.count && pick(py.events).length >= c.count, `${c.family} events`);
      expect(pick(ours[c.family])).toEqual(pick(py.events));
    }
    // Not vacuous: each action's event, by name.
    const names = (family: keyof typeof ours, object: string) =>
      mine(family, object)(ours[family]).map((e) => `${e.type}${e.args.length ? ` ${e.args[0]}` : ''}`);
    expect(names('storage-pool', poolName)).toEqual(['lifecycle 0', 'lifecycle 4', 'lifecycle 2', 'refresh', 'lifecycle 3', 'lifecycle 1']);
    expect(names('secret', secretUuid)).toEqual(['lifecycle 0', 'value-changed', 'lifecycle 1']);
    expect(names('network', netName)).toEqual(['lifecycle 0', 'lifecycle 1']);
  } finally {
    await Promise.all([pools.close(), secrets.close(), nets.close()]);
    await py.stop();
  }

  const meta = conn.events.network('metadata-change');
  const err = await meta.ready.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnsupportedEventError);
  expect((err as Error).message).toBe(
    "the daemon (libvirt 9.0.0) does not support the network event 'metadata-change' (it needs libvirt 9.8.0 or later): internal error: unsupported network event ID 1",
  );
  expect(conn.events.registrations).toBe(0);
}, 120_000);

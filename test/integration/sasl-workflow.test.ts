/**
 * The snapshot and checkpoint workflow over SASL, against the sandbox's SASL daemon: over TLS and over the unix
 * socket, with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN, the credentials coming from each place libvirt looks
 * ($LIBVIRT_AUTH_FILE, the URI's authfile=, $XDG_CONFIG_HOME/libvirt/auth.conf, $HOME/.config/libvirt/auth.conf,
 * with [auth-libvirt-HOST], [auth-libvirt-localhost] for a unix socket, [auth-libvirt-default]) and from the
 * credentials callback. The daemon's log says which mechanism and identity it accepted; virsh with the same
 * auth.conf is the oracle that the daemon accepts the same user with the same mechanism.
 */
import * as path from 'node:path';
import { connect, Connect, type CredentialsCallback } from '../../src/index';
import { createGuest, removeGuest } from '../../scripts/sandbox/guest';
import { sandbox } from '../helpers/sandbox';
import { guestName } from '../helpers/guest';
import { logMark, loginsSince, sasl, testDir, virshEnv, withEnv, writeAuthConf, type SaslUser } from './sasl-peer';

const name = guestName('sasl-wf');
const long = { timeout: 60_000 };

beforeAll(async () => {
  const info = sandbox();
  await createGuest({ root: info.root, uid: info.uid, gid: info.gid, unixUri: info.sasl.unixUriWithAuthFile }, name);
}, 120_000);

afterAll(async () => {
  const info = sandbox();
  await removeGuest({ root: info.root, uid: info.uid, gid: info.gid, unixUri: info.sasl.unixUriWithAuthFile }, name);
}, 120_000);

/** Snapshot and checkpoint of the running guest: create, find, describe, delete. */
async function workflow(conn: Connect, tag: string): Promise<void> {
  const dom = await conn.getDomainByName(name);
  const snap = await dom.createSnapshot({ name: `s-${tag}`, description: `over SASL ${tag}` }, 0, long);
  expect((await dom.listAllSnapshots()).map((s) => s.getName())).toContain(`s-${tag}`);
  expect((await snap.describe()).description).toBe(`over SASL ${tag}`);
  await snap.delete(0, long);
  const cp = await dom.createCheckpoint({ name: `c-${tag}` }, 0, long);
  expect((await dom.listAllCheckpoints()).map((c) => c.getName())).toEqual([`c-${tag}`]);
  await cp.delete(0, long);
  expect(await dom.listAllSnapshots()).toEqual([]);
}

interface Case {
  channel: 'tls' | 'unix';
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'PLAIN';
  user: 'alice' | 'bob' | 'carol' | 'dave';
  how: string;
  /** The URI, the environment (for us and for virsh) and our callback, given the test's folder. */
  setup(dir: string, user: SaslUser): { uri: string; env: NodeJS.ProcessEnv; credentials?: CredentialsCallback; oracleEnv?: NodeJS.ProcessEnv };
}

const base = (channel: 'tls' | 'unix') => (channel === 'tls' ? sasl().tlsUri : sasl().unixUri);
const param = (uri: string, p: string) => `${uri}${uri.includes('?') ? '&' : '?'}${p}`;

const CASES: Case[] = [
  {
    channel: 'tls', mechanism: 'SCRAM-SHA-256', user: 'alice', how: '$LIBVIRT_AUTH_FILE, [auth-libvirt-127.0.0.1], the strongest offered',
    setup: (dir, u) => ({ uri: base('tls'), env: withEnv({ LIBVIRT_AUTH_FILE: writeAuthConf(path.join(dir, 'a.conf'), u, '127.0.0.1') }) }),
  },
  {
    channel: 'tls', mechanism: 'SCRAM-SHA-1', user: 'bob', how: 'the credentials callback (a non-ASCII password as bytes), auth=sasl.SCRAM-SHA-1',
    setup: (dir, u) => ({
      uri: param(base('tls'), 'auth=sasl.SCRAM-SHA-1'),
      env: withEnv({ HOME: dir }),
      credentials: (r) => (r.type === 'sasl-authname' ? u.name : r.type === 'sasl-password' ? new TextEncoder().encode(u.password) : null),
      oracleEnv: withEnv({ LIBVIRT_AUTH_FILE: writeAuthConf(path.join(dir, 'oracle.conf'), u, '127.0.0.1') }),
    }),
  },
  {
    channel: 'tls', mechanism: 'PLAIN', user: 'carol', how: 'the URI\'s authfile=, [auth-libvirt-default], escapes in the password',
    setup: (dir, u) => ({ uri: param(base('tls'), `auth=sasl.PLAIN&authfile=${writeAuthConf(path.join(dir, 'c.conf'), u, 'default')}`), env: withEnv({ HOME: dir }) }),
  },
  {
    channel: 'unix', mechanism: 'SCRAM-SHA-256', user: 'dave', how: '$XDG_CONFIG_HOME/libvirt/auth.conf, [auth-libvirt-localhost] for a socket',
    setup: (dir, u) => {
      writeAuthConf(path.join(dir, 'xdg', 'libvirt', 'auth.conf'), u, 'localhost');
      return { uri: base('unix'), env: withEnv({ XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir }) };
    },
  },
  {
    channel: 'unix', mechanism: 'SCRAM-SHA-1', user: 'carol', how: '$HOME/.config/libvirt/auth.conf, auth=sasl.SCRAM-SHA-1',
    setup: (dir, u) => {
      writeAuthConf(path.join(dir, '.config', 'libvirt', 'auth.conf'), u, 'localhost');
      return { uri: param(base('unix'), 'auth=sasl.SCRAM-SHA-1'), env: withEnv({ HOME: dir }) };
    },
  },
  {
    channel: 'unix', mechanism: 'PLAIN', user: 'bob', how: 'the user name from auth.conf, the password from the callback',
    setup: (dir, u) => {
      const file = writeAuthConf(path.join(dir, 'b.conf'), u, 'localhost', ['authname']);
      return {
        uri: param(base('unix'), 'auth=sasl.PLAIN'),
        env: withEnv({ LIBVIRT_AUTH_FILE: file }),
        credentials: (r) => (r.type === 'sasl-password' ? u.password : null),
        oracleEnv: withEnv({ LIBVIRT_AUTH_FILE: writeAuthConf(path.join(dir, 'oracle.conf'), u, 'localhost') }),
      };
    },
  },
];

describe.each(CASES)('SASL over $channel with $mechanism as $user: $how', (c) => {
  test('the workflow runs; the daemon logged the mechanism and user, and accepts virsh the same way', async () => {
    const user = sasl().users[c.user];
    const { uri, env, credentials, oracleEnv } = c.setup(testDir(`${c.channel}-${c.mechanism}`), user);
    const mark = logMark();
    const conn = await connect(uri, { env, credentials, timeout: 30_000 });
    try {
      await workflow(conn, `${c.channel}-${c.mechanism}`.toLowerCase());
    } finally {
      await conn.close();
    }
    expect(loginsSince(mark)).toEqual([{ fd: expect.any(Number), mechanism: c.mechanism, username: c.user }]);

    const oracleMark = logMark();
    const virshUri = c.mechanism === 'SCRAM-SHA-256' || uri.includes('auth=') ? uri : param(uri, `auth=sasl.${c.mechanism}`);
    const r = await virshEnv(virshUri, ['domstate', name], oracleEnv ?? env);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('running');
    expect(loginsSince(oracleMark)).toEqual([{ fd: expect.any(Number), mechanism: c.mechanism, username: c.user }]);
  }, 120_000);
});

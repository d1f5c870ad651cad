/**
 * This client's side of `npm run bench`, driven by bench/compare/main.ts in a process of its own (so that its
 * CPU time is its own): reads one JSON command per line on stdin, answers each with one JSON line.
 *
 * `--lib DIR` loads the library from another checkout (the "before" of a before/after comparison); the
 * default is this checkout. Every call goes through the library's public API: `connect()` and the objects
 * (`api: 'object'`), or `conn.raw` with its typed procedures (`api: 'raw'`), as a user would write it.
 */
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type * as Lib from '../../src/index';
import type * as Uri from '../../src/transport/uri';

type Api = 'object' | 'raw';

interface Command {
  op: 'open' | 'lookup' | 'snapsetup' | 'close' | 'run' | 'connect' | 'exit';
  key?: string;
  uri?: string;
  dom?: string;
  count?: number;
  call?: 'libver' | 'xml' | 'listAll' | 'listNames';
  api?: Api;
  n?: number;
  conc?: number;
  /** connect: a SASL URI (its credentials come from $LIBVIRT_AUTH_FILE). */
  sasl?: boolean;
}

const libArg = process.argv.indexOf('--lib');
const libRoot = libArg > 0 ? path.resolve(process.argv[libArg + 1]) : path.resolve(__dirname, '..', '..');
const lib = require(path.join(libRoot, 'src', 'index.ts')) as typeof Lib;
const uriLib = require(path.join(libRoot, 'src', 'transport', 'uri.ts')) as typeof Uri;

interface Opened {
  conn: Lib.Connect;
  dom?: Lib.Domain;
}
const conns = new Map<string, Opened>();

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`missing ${what}`);
  return v;
}

function callOf(o: Opened, call: Command['call'], api: Api): () => Promise<unknown> {
  const { conn } = o;
  const raw = conn.raw.remote;
  const dom = o.dom;
  switch (call) {
    case 'libver':
      return api === 'object' ? () => conn.getLibVersion() : () => raw.connectGetLibVersion();
    case 'xml': {
      const d = need(dom, 'a looked-up domain');
      const handle = d.handle;
      return api === 'object' ? () => d.getXMLDescription() : () => raw.domainGetXmlDesc({ dom: handle, flags: 0 });
    }
    case 'listAll': {
      const d = need(dom, 'a looked-up domain');
      const handle = d.handle;
      return api === 'object' ? () => d.listAllSnapshots() : () => raw.domainListAllSnapshots({ dom: handle, need_results: 1, flags: 0 });
    }
    case 'listNames': {
      const d = need(dom, 'a looked-up domain');
      const handle = d.handle;
      if (api === 'object') return () => d.listSnapshotNames();
      return async () => {
        const { num } = await raw.domainSnapshotNum({ dom: handle, flags: 0 });
        return (await raw.domainSnapshotListNames({ dom: handle, maxnames: num, flags: 0 })).names;
      };
    }
    default:
      throw new Error(`unknown call ${String(call)}`);
  }
}

/**
 * Open + one call + close, through the object API (`connect`) or the low-level one (`RemoteConnection.open`).
 * With `sasl`, the low-level open is given what the URI opener gives it: the URI's auth= and host, and auth.conf
 * as libvirt finds it (here through $LIBVIRT_AUTH_FILE).
 */
function connectOnce(uri: string, api: Api, sasl: boolean): () => Promise<unknown> {
  if (api === 'object') {
    return async () => {
      const c = await lib.connect(uri);
      await c.getLibVersion();
      await c.close();
    };
  }
  return async () => {
    const parsed = lib.parseUri(uri);
    const transport = await lib.openTransport(parsed);
    const auth = sasl ? { auth: parsed?.remote.auth, authHost: parsed?.host ?? 'localhost', authConfig: lib.authConfigLoader(parsed, { env: process.env }) } : {};
    const c = await lib.RemoteConnection.open(transport, { name: uriLib.remoteOpenName(parsed), ...auth });
    await c.remote.connectGetLibVersion();
    await c.close();
  };
}

async function measure(fn: () => Promise<unknown>, n: number, conc: number): Promise<object> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (conc <= 1) {
    for (let i = 0; i < n; i++) await fn();
  } else {
    let issued = 0;
    const worker = async (): Promise<void> => {
      while (issued < n) {
        issued++;
        await fn();
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
  }
  const wallNs = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  return { calls: n, wallNs, cpuNs: (c.user + c.system) * 1000 };
}

/** The snapshot tree of the first wave's bench:snapshots: a binary tree, REDEFINEd level by level. */
async function snapSetup(o: Opened, count: number): Promise<object> {
  const dom = need(o.dom, 'a looked-up domain');
  const domainXml = await dom.getXMLDescription(lib.Domain.XML_INACTIVE);
  const xml = (i: number): string => {
    const parent = i === 0 ? '' : `<parent><name>snap${Math.floor((i - 1) / 2)}</name></parent>`;
    return `<domainsnapshot><name>snap${i}</name><description>benchmark snapshot ${i}</description><state>shutoff</state>`
      + `${parent}<creationTime>${1_700_000_000 + i}</creationTime><memory snapshot='no'/>`
      + `<disks><disk name='vda' snapshot='internal'/></disks>${domainXml}</domainsnapshot>`;
  };
  const t0 = performance.now();
  for (let start = 0, size = 1; start < count; start += size, size *= 2) {
    const level = Array.from({ length: Math.min(size, count - start) }, (_, k) => start + k);
    await Promise.all(level.map((i) => dom.createSnapshot(xml(i), lib.DomainSnapshot.CREATE_REDEFINE)));
  }
  const made = await dom.numOfSnapshots();
  if (made !== count) throw new Error(`snapshot set-up made ${made} snapshots`);
  return { setupMs: performance.now() - t0 };
}

async function handle(cmd: Command): Promise<object> {
  switch (cmd.op) {
    case 'open':
      conns.set(need(cmd.key, 'key'), { conn: await lib.connect(need(cmd.uri, 'uri')) });
      return {};
    case 'lookup': {
      const o = need(conns.get(need(cmd.key, 'key')), 'an open connection');
      o.dom = await o.conn.getDomainByName(need(cmd.dom, 'dom'));
      return {};
    }
    case 'snapsetup':
      return snapSetup(need(conns.get(need(cmd.key, 'key')), 'an open connection'), need(cmd.count, 'count'));
    case 'close': {
      const key = need(cmd.key, 'key');
      await conns.get(key)?.conn.close();
      conns.delete(key);
      return {};
    }
    case 'run': {
      const o = need(conns.get(need(cmd.key, 'key')), 'an open connection');
      return measure(callOf(o, cmd.call, need(cmd.api, 'api')), need(cmd.n, 'n'), cmd.conc ?? 1);
    }
    case 'connect':
      return measure(connectOnce(need(cmd.uri, 'uri'), need(cmd.api, 'api'), cmd.sasl === true), need(cmd.n, 'n'), 1);
    default:
      throw new Error(`unknown op ${String(cmd.op)}`);
  }
}

async function main(): Promise<void> {
  const out = (o: object): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ ready: true, pid: process.pid });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as Command;
    if (cmd.op === 'exit') break;
    try {
      out({ ok: true, ...(await handle(cmd)) });
    } catch (e) {
      out({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  for (const o of conns.values()) await o.conn.close().catch(() => undefined);
  process.exit(0);
}

void main();

/**
 * Error classes in minified bundles. A minifier renames classes, so neither `err.name` nor `instanceof` across
 * two copies of the package may rest on `constructor.name`: each class carries a stable brand. The core is
 * bundled and minified twice by esbuild (two entries, so the minified names differ, as in two independent
 * builds), loaded as two module copies, and checked against each other and against the sources.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import * as source from '../../src/errors';

const ROOT = path.resolve(__dirname, '../..');
type Module = Record<string, unknown>;
type ErrorClass = new (...args: never[]) => Error;

/** Every error class the package exports, by entry: the core, the Node transports, keepalive, the CLI. */
const EXPORTS = `
export * from ${JSON.stringify(`${ROOT}/src/core.ts`)};
export { TlsError } from ${JSON.stringify(`${ROOT}/src/transport/tls.ts`)};
export { SshError } from ${JSON.stringify(`${ROOT}/src/transport/ssh-errors.ts`)};
export { KeepaliveTimeoutError } from ${JSON.stringify(`${ROOT}/src/protocol/keepalive.ts`)};
export { CliCommandError, CliConnectError } from ${JSON.stringify(`${ROOT}/src/cli/errors.ts`)};
export { CliUsageError } from ${JSON.stringify(`${ROOT}/src/cli/command.ts`)};
`;

let dir: string;
const copies: Module[] = [];

function bundle(name: string, contents: string): Module {
  const outfile = path.join(dir, `${name}.cjs`);
  buildSync({
    stdin: { contents, resolveDir: ROOT, loader: 'ts' },
    bundle: true, minify: true, keepNames: false, format: 'cjs', platform: 'node', target: 'node20',
    external: ['ssh2', 'cpu-features'], outfile, logLevel: 'silent',
  });
  return require(outfile) as Module;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-bundle-'));
  copies.push(bundle('a', EXPORTS));
  // A second, independent build: other code first, so the minifier hands out other short names.
  copies.push(bundle('b', `export { parseUri } from ${JSON.stringify(`${ROOT}/src/transport/uri.ts`)};\nexport * as pad from ${JSON.stringify(`${ROOT}/src/objects/xml/index.ts`)};\n${EXPORTS}`));
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The error classes of a module copy, by their exported name. */
function errorClasses(m: Module): Map<string, ErrorClass> {
  const base = m.LibvirtRpcError as ErrorClass;
  const out = new Map<string, ErrorClass>();
  for (const [key, value] of Object.entries(m)) {
    if (typeof value !== 'function') continue;
    if (value === base || Object.prototype.isPrototypeOf.call(base.prototype, (value as ErrorClass).prototype)) out.set(key, value as ErrorClass);
  }
  return out;
}

const REMOTE = { code: 1, codeName: 'VIR_ERR_INTERNAL_ERROR', domain: 0, domainName: 'VIR_FROM_NONE', message: 'm', level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 };

function make(name: string, cls: ErrorClass): Error {
  const C = cls as unknown as new (...args: unknown[]) => Error;
  switch (name) {
    case 'RemoteError': return new C(REMOTE, 'REMOTE_PROC_X');
    case 'UnsupportedProcedureError': return new C(REMOTE, 'REMOTE_PROC_X', '9.0.0');
    case 'TlsError': return new C('ERR_TLS_HANDSHAKE', 'm');
    case 'SshError': return new C('ERR_SSH_AUTH', 'm');
    case 'CliCommandError': case 'CliConnectError': return new C('m', new Error('cause'));
    case 'UnsafeSnapshotDeleteError': return new C('s1', '9.0.0', 2, 's2', false);
    case 'SubtreeDeleteError': return new C('s1', ['s3'], 's2', ['s1', 's2'], new Error('cause'));
    default: return new C('m');
  }
}

test('the bundles really are minified (class names are not kept)', () => {
  const text = fs.readFileSync(path.join(dir, 'a.cjs'), 'utf8');
  expect(text).not.toMatch(/class ProtocolError\b/);
  expect(errorClasses(copies[0]).size).toBeGreaterThanOrEqual(15);
});

test('err.name is the class name in a minified bundle', () => {
  for (const m of copies) {
    for (const [name, cls] of errorClasses(m)) expect([name, make(name, cls).name]).toEqual([name, name]);
  }
});

test('instanceof holds across two minified copies and the sources, exactly along the class hierarchy', () => {
  const src = errorClasses(sourceModule());
  const all = [errorClasses(copies[0]), errorClasses(copies[1]), src];
  const wrong: string[] = [];
  let checked = 0;
  for (const from of all) {
    for (const [name, cls] of from) {
      const err = make(name, cls);
      for (const to of all) {
        for (const [other, otherCls] of to) {
          // Within the sources, the ordinary prototype chain says what the answer must be.
          const expected = Object.prototype.isPrototypeOf.call(src.get(other)!.prototype, make(name, src.get(name)!));
          checked++;
          if ((err instanceof otherCls) !== expected) wrong.push(`${name} instanceof ${other}: expected ${expected}`);
        }
      }
    }
  }
  expect(wrong).toEqual([]);
  expect(checked).toBeGreaterThan(9 * 15 * 15);
});

test('a subclass without a brand of its own keeps the ordinary instanceof and its constructor name', () => {
  class MyError extends source.InvalidArgumentError {}
  const e = new MyError('m');
  expect(e.name).toBe('MyError');
  expect(e).toBeInstanceOf(MyError);
  expect(e).toBeInstanceOf(source.InvalidArgumentError);
  expect(new source.InvalidArgumentError('m')).not.toBeInstanceOf(MyError);
  expect(e).toBeInstanceOf(copies[0].InvalidArgumentError as ErrorClass);
});

test('the stable code survives minification too', () => {
  const { ProtocolError, TimeoutError } = copies[0] as Record<string, ErrorClass>;
  expect((make('ProtocolError', ProtocolError) as Error & { code: string }).code).toBe('ERR_PROTOCOL');
  expect((make('TimeoutError', TimeoutError) as Error & { code: string }).code).toBe('ERR_TIMEOUT');
});

/** The sources, unbundled: src/errors.ts and the error classes of the other modules. */
function sourceModule(): Module {
  return {
    ...(require('../../src/core') as Module),
    TlsError: require('../../src/transport/tls').TlsError,
    SshError: require('../../src/transport/ssh-errors').SshError,
    KeepaliveTimeoutError: require('../../src/protocol/keepalive').KeepaliveTimeoutError,
    CliCommandError: require('../../src/cli/errors').CliCommandError,
    CliConnectError: require('../../src/cli/errors').CliConnectError,
    CliUsageError: require('../../src/cli/command').CliUsageError,
  };
}

/**
 * The package as its users get it: `npm pack` (which builds), the tarball installed into a fresh project, and
 * then, from that project only:
 * - the tarball holds the build and nothing else (no sources, no maps, no stamp);
 * - `require` and `import` of every entry point, with the same names, and every name README.md documents;
 * - `tsc --noEmit` with `strict` and `skipLibCheck: false` under node16, nodenext (CommonJS and ESM files) and
 *   bundler, and the browser entries with lib DOM and no @types/node (no @types/ssh2 is installed: the
 *   declarations must not need it);
 * - `npx libvirt-rpc --version`, and `snapshot-list --tree` against the sandbox, byte for byte as virsh;
 * - README.md's examples (`<!-- example: FILE -->`): JavaScript ones run against the sandbox, TypeScript ones
 *   compile;
 * - esbuild browser bundles of a snapshot-tree program and of describeSnapshot alone: sizes printed and held to
 *   the budgets README.md states, no `node:` module in them.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { connect, type Connect } from '../../src/index';
import { virsh } from '../helpers/open';
import { codeBlocks, documentedExports, ENTRY_SOURCES, missingExports } from '../helpers/readme-api';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { guestName } from '../helpers/guest';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/consumer');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const ENTRIES = Object.keys(ENTRY_SOURCES);

/** Browser bundle budgets (gzipped bytes), as README.md's "Entry points" states them. */
const BUDGET = { snapshotTree: 60 * 1024, describeSnapshot: 5 * 1024 };

interface Result { code: number | null; stdout: string; stderr: string }

/** Runs a command (no shell) with a bound; never rejects on a non-zero exit. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The version of a dev dependency in this checkout, so that the consumer's install hits the npm cache. */
function devVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

let tmp: string;
let project: string;
let packed: { filename: string; files: { path: string }[] };
const guest = guestName('pkg-consumer');
let conn: Connect | undefined;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'libvirt-rpc-consumer-'));
  project = path.join(tmp, 'project');
  fs.mkdirSync(project);
  // A guest with a small snapshot tree (a -> b, a -> c) for the CLI and the README's examples; made while
  // npm packs and installs.
  const guestReady = (async () => {
    await createGuest(guest, { start: false });
    conn = await connect(sandbox().unixUri);
    const dom = await conn.getDomainByName(guest);
    const a = await dom.createSnapshot({ name: 'a' });
    await dom.createSnapshot({ name: 'b' });
    await a.revertTo();
    await dom.createSnapshot({ name: 'c' });
  })();
  guestReady.catch(() => undefined);

  // `npm pack` runs prepack and prepare, which build (or find dist/ up to date).
  const out = await ok('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, timeout: 600_000 });
  packed = (JSON.parse(out.slice(out.indexOf('[\n'))) as (typeof packed)[])[0]!;
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  // --prefer-offline: everything is in the npm cache that `npm ci` filled. --ignore-scripts: no native builds.
  await ok('npm', [
    'install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tmp, packed.filename),
    `typescript@${devVersion('typescript')}`, `esbuild@${devVersion('esbuild')}`, `@types/node@${devVersion('@types/node')}`,
  ], { cwd: project, timeout: 300_000 });
  for (const f of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));
  await guestReady;
}, 900_000);

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await removeGuest(guest).catch(() => undefined);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 120_000);

test('the tarball holds the build, README, LICENSE, package.json and the JSON output reference, and nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  const built = ['esm', 'cjs'].flatMap((d) => listFiles(path.join(ROOT, 'dist', d)).map((f) => `dist/${d}/${f}`));
  expect(files).toEqual([...built, 'LICENSE', 'README.md', 'package.json', 'src/cli/json-output.md'].sort());
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files).toContain('dist/cjs/src/cli/main.js');
  expect(fs.readFileSync(path.join(project, 'node_modules/libvirt-rpc/dist/cjs/src/cli/main.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
});

describe('loading every entry point', () => {
  let cjs: Record<string, string[]>;
  let esm: Record<string, string[]>;

  beforeAll(async () => {
    cjs = JSON.parse(await ok(process.execPath, ['entries.cjs', JSON.stringify(ENTRIES)], { cwd: project })) as typeof cjs;
    esm = JSON.parse(await ok(process.execPath, ['entries.mjs', JSON.stringify(ENTRIES)], { cwd: project })) as typeof esm;
  }, 120_000);

  test('require() and import() give the same names for every entry', () => {
    for (const entry of ENTRIES) {
      expect(cjs[entry]!.length).toBeGreaterThan(0);
      expect(esm[entry]).toEqual(cjs[entry]);
    }
  });

  test('every name README.md documents is there, in both', () => {
    const documented = documentedExports(README);
    expect(missingExports(documented, (e) => new Set(cjs[e] ?? []))).toEqual([]);
    expect(missingExports(documented, (e) => new Set(esm[e] ?? []))).toEqual([]);
  });
});

describe('TypeScript consumers (strict, skipLibCheck: false)', () => {
  /** Every compilation, started together (each is a few seconds of CPU on its own). */
  const runs = new Map<string, Promise<Result>>();
  const tsc = (config: object, files: string[]): Promise<Result> => {
    const name = `tsconfig.${files.join('-').replace(/[^\w]+/g, '_')}.json`;
    fs.writeFileSync(path.join(project, name), JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: 'ES2022', ...config }, files }));
    return run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', name], { cwd: project, timeout: 300_000 });
  };
  const output = async (key: string) => {
    const r = await runs.get(key)!;
    return r.stdout + r.stderr;
  };

  beforeAll(() => {
    expect(fs.existsSync(path.join(project, 'node_modules/@types/ssh2'))).toBe(false);
    fs.copyFileSync(path.join(project, 'node-api.ts'), path.join(project, 'check.cts'));
    fs.copyFileSync(path.join(project, 'node-api.ts'), path.join(project, 'check.mts'));
    for (const mode of ['node16', 'nodenext']) {
      runs.set(mode, tsc({ module: mode, moduleResolution: mode, lib: ['ES2022'], types: ['node'] }, ['check.cts', 'check.mts']));
    }
    runs.set('bundler', tsc({ module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022'], types: ['node'] }, ['node-api.ts']));
    runs.set('browser', tsc({ module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }, ['browser-api.ts', 'snapshot-tree.ts', 'describe-snapshot.ts']));
    // README.md's TypeScript examples, as written.
    for (const b of codeBlocks(README).filter((c) => /\.(c|m)?ts$/.test(c.example ?? ''))) {
      fs.writeFileSync(path.join(project, b.example!), b.code);
      runs.set(b.example!, tsc({ module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'], types: ['node'] }, [b.example!]));
    }
    for (const p of runs.values()) p.catch(() => undefined);
  });

  test.each(['node16', 'nodenext'])('moduleResolution %s: a CommonJS and an ESM file', async (mode) => {
    expect(await output(mode)).toBe('');
  }, 300_000);

  test('moduleResolution bundler', async () => {
    expect(await output('bundler')).toBe('');
  }, 300_000);

  test('the browser entries with lib DOM and no Node types', async () => {
    expect(await output('browser')).toBe('');
  }, 300_000);

  test('README.md\'s TypeScript examples compile as written', async () => {
    const examples = [...runs.keys()].filter((k) => /\.(c|m)?ts$/.test(k));
    expect(examples.length).toBeGreaterThan(0);
    for (const e of examples) expect(`${e}: ${await output(e)}`).toBe(`${e}: `);
  }, 300_000);
});

describe('the command line, installed', () => {
  test('npx libvirt-rpc --version', async () => {
    expect(await ok('npx', ['--no-install', 'libvirt-rpc', '--version'], { cwd: project })).toBe(`${pkg.version}\n`);
  }, 120_000);

  test('npx libvirt-rpc snapshot-list --tree against the sandbox, as virsh prints it', async () => {
    const uri = sandbox().unixUri;
    const ours = await ok('npx', ['--no-install', 'libvirt-rpc', '-c', uri, 'snapshot-list', guest, '--tree'], { cwd: project });
    expect(ours).toBe(await virsh(uri, 'snapshot-list', guest, '--tree'));
    expect(ours).toMatch(/^a\n +\|\n +\+- [bc]\n +\+- [bc]\n/);
  }, 120_000);
});

describe('README.md examples, as written', () => {
  const examples = codeBlocks(README).filter((b) => b.example !== null);

  test('there are CommonJS, ESM and TypeScript examples', () => {
    const names = examples.map((b) => b.example!);
    expect(names.some((n) => n.endsWith('.cjs'))).toBe(true);
    expect(names.some((n) => n.endsWith('.mjs'))).toBe(true);
    expect(names.some((n) => /\.m?ts$/.test(n))).toBe(true);
  });

  test.each(examples.filter((b) => /\.(c|m)?js$/.test(b.example!)).map((b) => [b.example!, b.code]))(
    '%s runs against the sandbox and prints the snapshot tree',
    async (file, code) => {
      fs.writeFileSync(path.join(project, file), code);
      const out = await ok(process.execPath, [file], { cwd: project, env: { ...process.env, LIBVIRT_DEFAULT_URI: sandbox().unixUri } });
      // Our guest's tree: a root `a` with children `b` and `c`, each line indented by depth.
      const lines = out.split('\n');
      const at = lines.findIndex((l) => l.trim() === guest);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(lines[at + 1]).toMatch(/^(\s+)a\b/);
      const depth = (l: string) => /^\s*/.exec(l)![0].length;
      expect([lines[at + 2], lines[at + 3]].map((l) => l!.trim().split(/\s/)[0]).sort()).toEqual(['b', 'c']);
      expect(depth(lines[at + 2]!)).toBeGreaterThan(depth(lines[at + 1]!));
      expect(depth(lines[at + 3]!)).toBe(depth(lines[at + 2]!));
    },
    120_000,
  );
});

describe('browser bundles (esbuild, minified)', () => {
  async function bundle(entry: string): Promise<{ code: string; inputs: string[]; gzip: number }> {
    const out = path.join(project, 'out', `${path.basename(entry, '.ts')}.js`);
    await ok(path.join(project, 'node_modules/.bin/esbuild'), [
      entry, '--bundle', '--platform=browser', '--format=esm', '--minify', `--outfile=${out}`, `--metafile=${out}.meta.json`, '--log-level=warning',
    ], { cwd: project });
    const code = fs.readFileSync(out, 'utf8');
    const meta = JSON.parse(fs.readFileSync(`${out}.meta.json`, 'utf8')) as { inputs: Record<string, unknown> };
    const gzip = gzipSync(code, { level: 9 }).length;
    process.stdout.write(`bundle ${entry}: ${code.length} bytes minified, ${gzip} bytes gzipped\n`);
    return { code, inputs: Object.keys(meta.inputs), gzip };
  }

  const noNode = (b: { code: string; inputs: string[] }) => {
    expect(b.inputs.filter((i) => i.startsWith('node:') || /node_modules\/(ssh2|@hapi)\//.test(i))).toEqual([]);
    expect(b.code).not.toMatch(/["'`]node:|require\(/);
  };

  test(`a snapshot-tree program (Connect.openWith, Domain, DomainSnapshot, DomainCheckpoint, typed XML): at most ${BUDGET.snapshotTree} bytes gzipped`, async () => {
    const b = await bundle('snapshot-tree.ts');
    noNode(b);
    expect(b.code).toContain('REMOTE_PROC_DOMAIN_LIST_ALL_SNAPSHOTS');
    // Only the procedures it calls: not the whole REMOTE table.
    expect(b.code).not.toContain('REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3');
    expect(b.gzip).toBeLessThanOrEqual(BUDGET.snapshotTree);
  }, 120_000);

  test(`describeSnapshot alone: at most ${BUDGET.describeSnapshot} bytes gzipped, and no RPC engine`, async () => {
    const b = await bundle('describe-snapshot.ts');
    noNode(b);
    expect(b.code).not.toContain('REMOTE_PROC_');
    expect(b.gzip).toBeLessThanOrEqual(BUDGET.describeSnapshot);
  }, 120_000);
});

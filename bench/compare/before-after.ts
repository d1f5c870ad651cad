/**
 * `npm run bench:before-after`: `npm run bench` with the library of an earlier commit measured in the same
 * rounds as this checkout's and the C client's, one command.
 *
 *   npm run bench:before-after                      # against BASELINE below
 *   npm run bench:before-after -- --commit <rev>    # against another commit
 *   (other options are passed to bench/compare/main.ts, e.g. --suite rpc --rounds 25)
 *
 * The earlier tree is unpacked with `git archive` into a folder of the temporary directory (once per commit,
 * with its own `npm ci`), never as a git worktree: the repository is not changed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** main when the performance work of issue 15 began: the "before" of its figures. */
const BASELINE = '3d6d57b';

function run(what: string, command: string, args: string[], cwd: string, input?: Buffer): Buffer {
  const r = spawnSync(command, args, { cwd, input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
  return r.stdout;
}

function main(): void {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--commit');
  const rev = at >= 0 ? argv[at + 1] : BASELINE;
  if (at >= 0) argv.splice(at, 2);
  if (!rev || !/^[\w./-]+$/.test(rev)) throw new Error('--commit needs a revision (a hash, tag or branch)');
  const repo = path.resolve(__dirname, '..', '..');
  const sha = run('git rev-parse', 'git', ['rev-parse', '--verify', `${rev}^{commit}`], repo).toString().trim();
  const dir = path.join(os.tmpdir(), `libvirt-rpc-bench-before-${sha.slice(0, 12)}`);
  if (!fs.existsSync(path.join(dir, 'node_modules', '.package-lock.json'))) {
    process.stderr.write(`bench: unpacking ${sha.slice(0, 12)} into ${dir} and installing its dependencies\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const archive = run('git archive', 'git', ['archive', '--format=tar', sha], repo);
    run('tar', 'tar', ['-x', '-C', dir], repo, archive);
    run('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], dir); // with install scripts: ssh2 builds its native crypto, as in a checkout
  }
  const bench = path.join(__dirname, 'main.ts');
  const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'ts-run.cjs'), bench, '--before', dir, ...argv], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench:before-after: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

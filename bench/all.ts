/**
 * `npm run bench`: every benchmark in turn, each in its own process, stopping at the first that fails. First the
 * one table against libvirt's C client (`bench:compare`, bench/compare/main.ts: calls, opens over every transport
 * including SASL, snapshot lists), which takes this command's own options (`npm run bench -- --rounds 25`), then
 * the benchmarks with tables of their own.
 */
import { spawnSync } from 'node:child_process';

const benches = ['bench:compare', 'bench:xdr', 'bench:retention', 'bench:simulate', 'bench:events', 'bench:ws', 'bench:streams'];
for (const b of benches) {
  process.stdout.write(`\n=== npm run ${b} ===\n`);
  const args = b === 'bench:compare' ? ['--', ...process.argv.slice(2)] : [];
  const r = spawnSync('npm', ['run', '-s', b, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`${b} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
}

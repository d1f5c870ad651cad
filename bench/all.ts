/** `npm run bench`: every benchmark in turn, each in its own process, stopping at the first that fails. */
import { spawnSync } from 'node:child_process';

const benches = ['bench:xdr', 'bench:retention', 'bench:simulate', 'bench:rpc', 'bench:connect', 'bench:snapshots', 'bench:events', 'bench:ws', 'bench:streams'];
for (const b of benches) {
  process.stdout.write(`\n=== npm run ${b} ===\n`);
  const r = spawnSync('npm', ['run', '-s', b], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`${b} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
}

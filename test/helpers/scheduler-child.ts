/**
 * Runs one scheduler pass in a child process and SIGKILLs itself at a chosen step, so tests can check what a
 * crash at that point leaves behind. argv: URI DOMAIN CRASH_AT POLICY_JSON, where CRASH_AT is an event type
 * (`creating`, `created`, `deleting`, `deleted`), optionally `+MS` to die that long after it (mid-call).
 */
import { connect } from '../../src';
import { DomainScheduler } from '../../src/scheduler/scheduler';

async function main(): Promise<void> {
  const [uri, domainName, crashAt, policyJson] = process.argv.slice(2);
  const [event, delay] = crashAt.split('+');
  const conn = await connect(uri);
  const dom = await conn.getDomainByName(domainName);
  const scheduler = new DomainScheduler(dom, {
    policy: JSON.parse(policyJson),
    owner: `child/${process.pid}`,
    lockTtlMs: 2000,
    lockSettleMs: 50,
    onProgress: (e) => {
      if (e.type !== event) return;
      if (delay) setTimeout(() => process.kill(process.pid, 'SIGKILL'), Number(delay));
      else process.kill(process.pid, 'SIGKILL');
    },
  });
  await scheduler.runOnce();
  process.stdout.write('completed without reaching the crash point\n');
  await conn.close();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
  process.exit(2);
});

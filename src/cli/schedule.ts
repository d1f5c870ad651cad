/**
 * `libvirt-rpc schedule ACTION DOMAIN`: the dyadic snapshot scheduler on the command line.
 *
 *   plan      dry run: what would be created and deleted, each kept snapshot's reasons and expected deletion
 *   run       one pass (create if due, then prune)
 *   daemon    passes until SIGTERM/SIGINT (the pass in progress finishes first), or for --for DURATION;
 *             reconnects after the daemon restarts (the connection's reconnect policy, the scheduler's backoff)
 *   simulate  the policy over simulated time: the kept set and its gaps (no daemon needed)
 *   list      the scheduler's snapshots with creation durations, kinds and keep reasons
 *   resume    clear a paused schedule;  cleanup  delete the incomplete snapshots a crash left
 *
 * The policy comes from `--config FILE` (JSON, parsed with @hapi/bourne) and/or flags; flags win.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as Bourne from '@hapi/bourne';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { checkDuration, MAX_TIMER_MS } from '../protocol/durations.js';
import { parseDuration, validateScheduleConfig, type ScheduleConfig } from '../scheduler/config.js';
import { MAX_SPAN_MS } from '../scheduler/policy.js';
import { isComplete, retentionSnapshots } from '../scheduler/records.js';
import { computeRetention, type KeptSnapshot } from '../scheduler/retention.js';
import { describeReason, formatDuration } from '../scheduler/retention-reasons.js';
import { defaultEvery, simulateAsync } from '../scheduler/retention-plan.js';
import { DomainScheduler, type RunReport, type SchedulerEvent } from '../scheduler/scheduler.js';
import { schedulerBackoff } from '../scheduler/failures.js';
import type { ReconnectPolicy } from '../objects/reconnect.js';
import { CliUsageError, type CliArgs, type CliCommand, type CliContext, type CliOptionSpec } from './command.js';

const ACTIONS = ['plan', 'run', 'daemon', 'simulate', 'list', 'resume', 'cleanup'] as const;
type Action = (typeof ACTIONS)[number];

const OPTIONS: CliOptionSpec[] = [
  { name: 'action', type: 'string', positional: true, required: true, help: `one of ${ACTIONS.join(', ')}` },
  { name: 'domain', type: 'string', positional: true, help: 'domain name (or "domain" in the config file)' },
  { name: 'config', type: 'string', help: 'JSON config file: { domain, policy, kind, every, prefix, quiesce, maxFailures, backoff }' },
  { name: 'policy', type: 'string', help: 'aligned (default) or dss' },
  { name: 'base', type: 'string', help: 'aligned: level-0 slot width (e.g. 1h); also the default --every' },
  { name: 'levels', type: 'integer', help: 'aligned: number of levels' },
  { name: 'slots', type: 'integer', help: 'aligned: slots kept per level' },
  { name: 'keep-last', type: 'integer', help: 'aligned: newest snapshots always kept (>= 1)' },
  { name: 'keep-within', type: 'string', help: 'aligned: keep everything younger than this' },
  { name: 'grace', type: 'string', help: 'thinning never uses a now later than the newest snapshot plus this' },
  { name: 'unit', type: 'string', help: 'dss: interval width (e.g. 1d)' },
  { name: 'intervals', type: 'integer', help: 'dss: number of intervals n' },
  { name: 'kind', type: 'string', help: 'internal (default), disk-only or checkpoint' },
  { name: 'every', type: 'string', help: 'time between snapshots (default: the policy base unit)' },
  { name: 'prefix', type: 'string', help: 'name prefix of the scheduler\'s snapshots (default lvrpc)' },
  { name: 'quiesce', type: 'string', help: 'no (default), require, or fallback (crash-consistent, recorded as such)' },
  { name: 'max-failures', type: 'integer', help: 'failures in a row before the schedule pauses (default 5)' },
  { name: 'for', type: 'string', help: 'daemon: stop after this long; simulate: the span to simulate (default 30 * base)' },
];

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    // @hapi/bourne: JSON.parse that refuses __proto__ and constructor.prototype keys.
    return Bourne.parse(text, { protoAction: 'error' });
  } catch (e) {
    throw new InvalidArgumentError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The config from --config and flags, validated (flags override the file). */
export function configFrom(args: CliArgs): ScheduleConfig {
  const base = (args.has('config') ? readConfigFile(args.requireString('config')) : {}) as Record<string, unknown>;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new InvalidArgumentError('config: must be a JSON object');
  const policy: Record<string, unknown> = { ...((base.policy as Record<string, unknown>) ?? {}) };
  const set = (key: string, v: unknown) => v !== undefined && (policy[key] = v);
  set('kind', args.string('policy'));
  set('baseMs', args.string('base'));
  set('levels', args.integer('levels'));
  set('slots', args.integer('slots'));
  set('keepLast', args.integer('keep-last'));
  set('keepWithinMs', args.string('keep-within'));
  set('graceMs', args.string('grace'));
  set('unitMs', args.string('unit'));
  set('intervals', args.integer('intervals'));
  if (Object.keys(policy).length === 0) {
    throw new CliUsageError('no policy: give --config FILE or flags such as --base 1h --levels 8 --slots 2 --keep-last 3 (or --policy dss --unit 1d --intervals 5)');
  }
  const cfg: Record<string, unknown> = { ...base, policy };
  const put = (key: string, v: unknown) => v !== undefined && (cfg[key] = v);
  put('domain', args.string('domain'));
  put('kind', args.string('kind'));
  put('every', args.string('every'));
  put('prefix', args.string('prefix'));
  put('quiesce', args.string('quiesce'));
  put('maxFailures', args.integer('max-failures'));
  return validateScheduleConfig(cfg, args.has('config') ? `config (${args.string('config')})` : 'options');
}

async function makeScheduler(ctx: CliContext, cfg: ScheduleConfig, onProgress?: (e: SchedulerEvent) => void, reconnect?: ReconnectPolicy): Promise<DomainScheduler> {
  if (!cfg.domain) throw new CliUsageError('a domain is required (argument, or "domain" in the config file)');
  const conn = await ctx.connect({ reconnect });
  const dom = await conn.getDomainByName(cfg.domain, ctx.callOptions());
  const owner = `${os.hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
  return new DomainScheduler(dom, {
    // --timeout bounds each daemon call, as everywhere in the CLI (creating or deleting a snapshot: its own bound).
    callTimeoutMs: Math.min(ctx.global.timeout, MAX_TIMER_MS),
    policy: cfg.policy,
    kind: cfg.kind,
    everyMs: cfg.everyMs ?? undefined,
    prefix: cfg.prefix,
    quiesce: cfg.quiesce,
    maxFailures: cfg.maxFailures,
    backoff: cfg.backoff,
    owner,
    onProgress,
  });
}

const iso = (t: number | null): string => (t === null ? '-' : new Date(t).toISOString().replace('.000Z', 'Z'));

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => ' ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(rows[0]), '-'.repeat(line(rows[0]).length + 2), ...rows.slice(1).map(line)].join('\n') + '\n';
}

const reasonsText = (k: KeptSnapshot | undefined): string => (k ? k.reasons.map(describeReason).join('; ') : 'to delete');

async function list(ctx: CliContext, cfg: ScheduleConfig): Promise<void> {
  const s = await makeScheduler(ctx, cfg);
  const r = await s.records(ctx.callOptions());
  const existing = new Set((cfg.kind === 'checkpoint' ? await s.domain.listAllCheckpoints(0, ctx.callOptions()) : await s.domain.listAllSnapshots(0, ctx.callOptions())).map((x) => x.getName()));
  const snaps = r.snapshots.filter((x) => existing.has(x.name)).sort((a, b) => a.started - b.started);
  const result = computeRetention(retentionSnapshots(snaps), s.policy, { now: Date.now() });
  const kept = new Map(result.keep.map((k) => [k.id, k]));
  if (ctx.global.json) {
    ctx.stdout.write(JSON.stringify({ domain: cfg.domain, state: r.state, snapshots: snaps.map((x) => ({ ...x, complete: isComplete(x), durationMs: isComplete(x) ? x.completed! - x.started : null, keep: kept.get(x.name)?.reasons ?? null })) }, null, 2) + '\n');
    return;
  }
  const rows = [['Name', 'Created', 'Duration', 'Kind', 'Quiesced', 'Keep reasons']];
  for (const x of snaps) {
    const dur = isComplete(x) ? formatDuration(x.completed! - x.started) : 'incomplete';
    rows.push([x.name, iso(x.started), dur, x.kind, x.quiesced ? 'yes' : 'no', isComplete(x) ? reasonsText(kept.get(x.name)) : 'never counted (incomplete)']);
  }
  ctx.stdout.write(table(rows));
  if (r.state.paused) ctx.stdout.write(`\nschedule paused: ${r.state.paused}\n`);
  else if (r.state.failures) ctx.stdout.write(`\n${r.state.failures} failure(s) in a row; next attempt ${iso(r.state.nextAttempt)}; last: ${r.state.lastError}\n`);
}

async function plan(ctx: CliContext, cfg: ScheduleConfig): Promise<void> {
  const p = await (await makeScheduler(ctx, cfg)).plan({ signal: ctx.signal });
  if (ctx.global.json) {
    ctx.stdout.write(JSON.stringify(p, null, 2) + '\n');
    return;
  }
  ctx.stdout.write(p.paused ? `Schedule paused: ${p.paused}\n` : p.wouldCreate ? `Would create: ${p.wouldCreate}\n` : `Next snapshot due: ${iso(p.nextDue)}\n`);
  const rows = [['Keep', 'Expected deletion', 'Reasons']];
  for (const k of p.keep) rows.push([k.id, iso(k.expectedDeletion), k.reasons.map(describeReason).join('; ')]);
  ctx.stdout.write('\n' + table(rows));
  ctx.stdout.write(`\nWould delete: ${p.delete.length ? p.delete.join(', ') : 'nothing'}\n`);
  if (p.incomplete.length) ctx.stdout.write(`Incomplete (never counted, removed only by 'schedule cleanup'): ${p.incomplete.join(', ')}\n`);
}

function printReport(ctx: CliContext, r: RunReport): void {
  if (ctx.global.json) {
    ctx.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  if (r.created) ctx.stdout.write(`Created ${r.created.name} in ${formatDuration(r.created.durationMs)}${r.created.quiesced ? ' (quiesced)' : ''}\n`);
  else if (r.skipped) ctx.stdout.write(`Nothing created (${r.skipped}); next due ${iso(r.nextDue)}\n`);
  for (const d of r.deleted) ctx.stdout.write(`Deleted ${d}\n`);
  for (const e of r.errors) ctx.stderr.write(`error: ${e.step}: ${e.error}${e.transient ? ' (will retry)' : ''}\n`);
  if (r.paused) ctx.stderr.write(`schedule paused: ${r.paused}\n`);
}

/** Progress for long steps on a terminal: a live elapsed-time line while a snapshot is being made. */
function progress(ctx: CliContext): (e: SchedulerEvent) => void {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return (e) => {
    const stamp = new Date().toISOString().slice(11, 19);
    if (e.type === 'creating') {
      const t0 = Date.now();
      if (ctx.isTTY && !ctx.global.json) {
        timer = setInterval(() => ctx.stdout.write(`\r${stamp} creating ${e.name} ... ${formatDuration(Date.now() - t0)}  `), 200);
      }
      return;
    }
    stop();
    if (ctx.global.json) return ctx.stdout.write(JSON.stringify({ at: Date.now(), ...e }) + '\n');
    const clear = ctx.isTTY ? '\r\x1b[K' : '';
    if (e.type === 'created') ctx.stdout.write(`${clear}${stamp} created ${e.name} in ${formatDuration(e.durationMs)}\n`);
    else if (e.type === 'deleted') ctx.stdout.write(`${clear}${stamp} deleted ${e.name}\n`);
    else if (e.type === 'failed') ctx.stderr.write(`${clear}${stamp} ${e.step} failed: ${e.error}${e.paused ? `; paused: ${e.paused}` : e.nextAttempt ? `; retry at ${iso(e.nextAttempt)}` : ''}\n`);
    else if (e.type === 'reconnected') ctx.stderr.write(`${clear}${stamp} reconnected after ${formatDuration(e.downtimeMs)}\n`);
  };
}

/**
 * How `schedule daemon` gets its connection back after the daemon restarts or the network drops: the
 * connection's reconnect policy, with the scheduler's own backoff bounds (the first attempt after the minimum,
 * then growing to the maximum; one timer's worth at most), stopped by SIGINT/SIGTERM. Calls fail at once while
 * it reconnects: the scheduler runs no pass until the connection is back (runDaemon waits for it).
 */
export function daemonReconnectPolicy(cfg: ScheduleConfig, signal: AbortSignal): ReconnectPolicy {
  const b = schedulerBackoff(cfg.everyMs ?? defaultEvery(cfg.policy), cfg.backoff);
  const initialDelay = Math.min(b.minMs, MAX_TIMER_MS);
  return { initialDelay, maxDelay: Math.max(initialDelay, Math.min(b.maxMs, MAX_TIMER_MS)), factor: Math.min(16, Math.max(1, b.factor ?? 2)), signal, calls: 'fail' };
}

async function daemon(ctx: CliContext, cfg: ScheduleConfig, args: CliArgs): Promise<void> {
  // --for may be any length (4w is more than one timer can wait): runDaemon sleeps in steps.
  const timeout = args.has('for') ? checkDuration(parseDuration(args.string('for'), '--for'), '--for', 0, MAX_SPAN_MS) : undefined;
  const s = await makeScheduler(ctx, cfg, progress(ctx), daemonReconnectPolicy(cfg, ctx.signal));
  // The CLI's signal aborts on SIGINT/SIGTERM; runDaemon lets the pass in progress finish, then returns.
  await s.runDaemon({ signal: ctx.signal, timeout });
}

async function simulateCmd(ctx: CliContext, cfg: ScheduleConfig, args: CliArgs): Promise<void> {
  const every = cfg.everyMs ?? defaultEvery(cfg.policy);
  const span = checkDuration(args.has('for') ? parseDuration(args.string('for'), '--for') : every * 30, '--for', 0, MAX_SPAN_MS);
  const end = Date.UTC(2030, 0, 1);
  // CPU-bound: in slices, so SIGINT/SIGTERM (ctx.signal) stop it.
  const r = await simulateAsync(cfg.policy, { start: end - span, end, every }, { signal: ctx.signal });
  if (ctx.global.json) {
    ctx.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  ctx.stdout.write(`Simulated ${formatDuration(span)} with a snapshot every ${formatDuration(every)}: ${r.created} created, ${r.deleted} deleted, ${r.kept.length} kept (at most ${r.peakKept} at once)\n\n`);
  const rows = [['Kept snapshot', 'Age at end', 'Gap to next']];
  r.kept.forEach((k, i) => rows.push([iso(k.created), formatDuration(end - k.created), i < r.gaps.length ? formatDuration(r.gaps[i]) : '-']));
  ctx.stdout.write(table(rows));
}

/** The scheduler's command (one, with the action as its first argument: `schedule plan vm1`). */
export const scheduleCommands: CliCommand[] = [
  {
    name: 'schedule',
    summary: 'the dyadic snapshot scheduler: plan, run, daemon, simulate, list, resume, cleanup',
    usage: `schedule <${ACTIONS.join('|')}> [<domain>] [--config FILE] [policy options]`,
    description:
      'Makes snapshots on a schedule and keeps many recent ones and exponentially fewer old ones. It only ever\n' +
      'touches snapshots it made (recorded in the domain\'s <metadata>), makes at most one per slot (--every)\n' +
      'even with several schedulers on a domain, takes a lease per domain, backs off when creation fails, and\n' +
      'never counts snapshots whose creation did not complete. --for and --every may be weeks.',
    options: OPTIONS,
    // SIGTERM/SIGINT let the pass in progress finish: a snapshot is never abandoned half-recorded on purpose.
    graceful: true,
    async run(ctx, args) {
      const code = await runAction(ctx, args);
      // A signal that came during a CPU-bound step (the retention of `list`, the look-ahead of `plan`) is honoured
      // once it ends: the command reports the interruption rather than success.
      // (`run` and `daemon` finish their pass on purpose and exit as they would have.)
      if (ctx.signal.aborted && !['run', 'daemon'].includes(args.string('action') ?? '')) throw new AbortError('interrupted', { cause: ctx.signal.reason });
      return code;
    },
  },
];

/** Runs one `schedule` action; resolves to the exit code. */
async function runAction(ctx: CliContext, args: CliArgs): Promise<number | void> {
  const action = args.requireString('action') as Action;
  if (!ACTIONS.includes(action)) throw new CliUsageError(`unknown schedule action '${action}' (expected one of ${ACTIONS.join(', ')})`);
  const cfg = configFrom(args);
  switch (action) {
    case 'simulate':
      return simulateCmd(ctx, cfg, args);
    case 'list':
      return list(ctx, cfg);
    case 'plan':
      return plan(ctx, cfg);
    case 'run': {
      // Not given the signal: SIGINT/SIGTERM let the pass finish (every call in it is bounded).
      const report = await (await makeScheduler(ctx, cfg, ctx.isTTY ? progress(ctx) : undefined)).runOnce();
      printReport(ctx, report);
      return report.errors.some((e) => e.step.startsWith('create')) ? 1 : 0;
    }
    case 'daemon':
      return daemon(ctx, cfg, args);
    case 'resume':
      await (await makeScheduler(ctx, cfg)).resume({ signal: ctx.signal });
      if (!ctx.global.quiet) ctx.stdout.write(`Schedule of ${cfg.domain} resumed\n`);
      return;
    case 'cleanup': {
      const removed = await (await makeScheduler(ctx, cfg)).cleanup({ signal: ctx.signal });
      ctx.stdout.write(ctx.global.json ? JSON.stringify({ removed }) + '\n' : removed.length ? removed.map((n) => `Deleted incomplete ${n}\n`).join('') : 'No incomplete snapshots\n');
      return;
    }
  }
}

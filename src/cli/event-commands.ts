/**
 * `event` and `qemu-monitor-event`, as virsh 9.0 has them (cmdEvent in tools/virsh-domain-event.c,
 * cmdQemuMonitorEvent in tools/virsh-domain.c): wait for one event (or, with `--loop`, until `--timeout` or
 * SIGINT), print each as virsh does, then "event loop timed out" / "event loop interrupted" and "events
 * received: N"; exit 1 when none came. With `--json`, each event is one JSON line and nothing else is printed.
 */
import { DOMAIN_EVENT_NAMES, type DomainEvent, type DomainEventName, type EventSubscription, type QemuMonitorEvent } from '../events/index.js';
import { CliUsageError, type CliArgs, type CliCommand, type CliContext } from './command.js';
import { eventJson, formatDomainEvent, formatQemuEvent, virshTimestamp } from './event-format.js';
import { lookupDomain } from './lookup.js';

/** virsh's vshCommandOptTimeoutToMs: whole seconds, 1 to INT_MAX / 1000. */
function timeoutMs(args: CliArgs): number | null {
  const s = args.integer('timeout');
  if (s === undefined) return null;
  if (s < 1 || s > Math.floor(0x7fffffff / 1000)) throw new CliUsageError(`Numeric value '${s}' for <timeout> option is malformed or out of range`);
  return s * 1000;
}

/** virsh's VSH_EXCLUSIVE_OPTIONS. */
function exclusive(args: CliArgs, a: string, b: string): void {
  if (args.has(a) && args.has(b)) throw new CliUsageError(`Options --${a} and --${b} are mutually exclusive`);
}

const COMMON = [
  { name: 'loop', type: 'boolean', help: 'loop until timeout or interrupt, rather than one-shot' },
  { name: 'timeout', type: 'integer', positional: true, help: 'timeout seconds' },
] as const;
const TIMESTAMP = { name: 'timestamp', type: 'boolean', help: 'show timestamp for each printed event' } as const;

/**
 * Reads `sub` until one event (or, with `loop`, until the timeout or SIGINT), printing each with `print`;
 * then virsh's closing lines. Returns the exit code: 0 when an event came, else 1.
 */
async function waitLoop<T extends DomainEvent | QemuMonitorEvent>(ctx: CliContext, args: CliArgs, sub: EventSubscription<T>, timeout: number | null, print: (ev: T, now: Date) => string): Promise<number> {
  const loop = args.flag('loop');
  let count = 0;
  let outcome: 'done' | 'timeout' | 'interrupt' = 'done';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<'timeout' | 'interrupt'>((resolve) => {
    if (timeout !== null) timer = setTimeout(() => resolve('timeout'), timeout);
    onAbort = () => resolve('interrupt');
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      const r = await Promise.race([sub.next(), stop]);
      if (r === 'timeout' || r === 'interrupt') {
        outcome = r;
        break;
      }
      if (r.done) break;
      if (r.value.type === 'gap') continue;
      const now = ctx.now();
      ctx.stdout.write(ctx.global.json ? eventJson(r.value as T, now) : print(r.value as T, now));
      count++;
      if (!loop) break;
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort!);
    await sub.close();
  }
  if (!ctx.global.json) {
    if (outcome === 'interrupt') ctx.stdout.write('event loop interrupted\n');
    if (outcome === 'timeout') ctx.stdout.write('event loop timed out\n');
    ctx.stdout.write(`events received: ${count}\n`);
  }
  return count > 0 ? 0 : 1;
}

/** `event [--domain D] [--event NAME | --all] [--loop] [--timeout S] [--list] [--timestamp]`. */
export const eventCommand: CliCommand = {
  name: 'event',
  summary: 'Domain Events',
  usage: 'event [--domain <string>] [--event <string>] [--all] [--loop] [--timeout <number>] [--list] [--timestamp]',
  description: 'List event types, or wait for domain events to occur',
  graceful: true,
  options: [
    { name: 'domain', type: 'string', positional: true, help: 'filter by domain name, id or uuid' },
    { name: 'event', type: 'string', positional: true, help: 'which event type to wait for' },
    { name: 'all', type: 'boolean', help: 'wait for all events instead of just one type' },
    ...COMMON,
    { name: 'list', type: 'boolean', help: 'list valid event types' },
    TIMESTAMP,
  ],
  async run(ctx, args) {
    exclusive(args, 'all', 'event');
    exclusive(args, 'list', 'all');
    exclusive(args, 'list', 'event');
    if (args.flag('list')) {
      if (ctx.global.json) ctx.stdout.write(`${JSON.stringify(DOMAIN_EVENT_NAMES)}\n`);
      else ctx.stdout.write(DOMAIN_EVENT_NAMES.map((n) => `${n}\n`).join(''));
      return 0;
    }
    const name = args.string('event');
    if (name === undefined && !args.flag('all')) throw new CliUsageError('one of --list, --all, or --event <type> is required');
    if (name !== undefined && !(DOMAIN_EVENT_NAMES as string[]).includes(name)) throw new CliUsageError(`unknown event type ${name}`);
    const timeout = timeoutMs(args);
    const domText = args.string('domain');
    const dom = domText === undefined ? undefined : await lookupDomain(ctx, domText);
    const conn = await ctx.connect();
    // Like virsh --all, events this daemon does not know are left out; one named event it does not know fails.
    const sub = conn.events.domain(name === undefined ? '*' : (name as DomainEventName), { domain: dom, highWaterMark: 10_000, overflow: 'drop-oldest' });
    await sub.ready;
    const stamp = args.flag('timestamp');
    return waitLoop(ctx, args, sub, timeout, (ev, now) => {
      const text = formatDomainEvent(ev);
      return stamp ? `${virshTimestamp(now)}: ${text}` : text;
    });
  },
};

/** `qemu-monitor-event [--domain D] [--event NAME] [--pretty] [--loop] [--timeout S] [--regex] [--no-case] [--timestamp]`. */
export const qemuMonitorEventCommand: CliCommand = {
  name: 'qemu-monitor-event',
  summary: 'QEMU Monitor Events',
  usage: 'qemu-monitor-event [--domain <string>] [--event <string>] [--pretty] [--loop] [--timeout <number>] [--regex] [--no-case] [--timestamp]',
  description: 'Listen for QEMU Monitor Events',
  graceful: true,
  options: [
    { name: 'domain', type: 'string', positional: true, help: 'filter by domain name, id or uuid' },
    { name: 'event', type: 'string', positional: true, help: 'filter by event name' },
    { name: 'pretty', type: 'boolean', help: 'pretty-print any JSON output' },
    ...COMMON,
    { name: 'regex', type: 'boolean', help: 'treat event as a regex rather than literal filter' },
    { name: 'no-case', type: 'boolean', help: 'treat event case-insensitively' },
    TIMESTAMP,
  ],
  async run(ctx, args) {
    const timeout = timeoutMs(args);
    const event = args.string('event');
    const domText = args.string('domain');
    const dom = domText === undefined ? undefined : await lookupDomain(ctx, domText);
    const conn = await ctx.connect();
    // virsh passes --regex/--no-case even without --event; the daemon then has nothing to apply them to.
    const filter = event === undefined ? {} : { event, regex: args.flag('regex'), nocase: args.flag('no-case') };
    const sub = conn.events.qemuMonitor({ domain: dom, ...filter, highWaterMark: 10_000, overflow: 'drop-oldest' });
    await sub.ready;
    const pretty = args.flag('pretty');
    const stamp = args.flag('timestamp');
    return waitLoop(ctx, args, sub, timeout, (ev, now) => formatQemuEvent(ev, { pretty, timestamp: stamp ? now : null }));
  },
};

/** The event commands, for the registry. */
export const eventCommands: CliCommand[] = [eventCommand, qemuMonitorEventCommand];

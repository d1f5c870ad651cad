/**
 * Events in virsh 9.0's words: the lines `virsh event` prints for each domain event (tools/virsh-domain-event.c,
 * whose callbacks format them), the `qemu-monitor-event` line (virshEventQemuPrint in tools/virsh-domain.c),
 * virsh's `--timestamp` (virTimeStringNowRaw: UTC with milliseconds) and `--pretty` JSON, and the JSON line
 * each event becomes with `--json`.
 */
import type { DomainEvent, QemuMonitorEvent, TypedParam } from '../events/index.js';

const LIFECYCLE = ['Defined', 'Undefined', 'Started', 'Suspended', 'Resumed', 'Stopped', 'Shutdown', 'PMSuspended', 'Crashed'];
const DETAILS = [
  ['Added', 'Updated', 'Renamed', 'Snapshot'],
  ['Removed', 'Renamed'],
  ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup'],
  ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error'],
  ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error'],
  ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot'],
  ['Finished', 'Finished after guest request', 'Finished after host request'],
  ['Memory', 'Disk'],
  ['Panicked', 'Crashloaded'],
];
const WATCHDOG = ['none', 'pause', 'reset', 'poweroff', 'shutdown', 'debug', 'inject-nmi'];
const IO_ERROR = ['none', 'pause', 'report'];
const GRAPHICS_PHASE = ['connect', 'initialize', 'disconnect'];
const GRAPHICS_FAMILY = ['IPv4', 'IPv6', 'unix'];
const BLOCK_JOB = ['Unknown job', 'Block Pull', 'Block Copy', 'Block Commit', 'Active Block Commit', 'Backup'];
const BLOCK_JOB_STATUS = ['completed', 'failed', 'canceled', 'ready'];
const DISK_CHANGE = ['changed', 'dropped'];
const TRAY = ['opened', 'closed'];
const AGENT_STATE = ['unknown', 'connected', 'disconnected'];
const AGENT_REASON = ['unknown', 'domain started', 'channel event'];
const METADATA = ['description', 'title', 'element'];
const MF_RECIPIENT = ['hypervisor', 'guest'];
const MF_ACTION = ['ignore', 'inject', 'fatal', 'reset'];

/** virsh's `_(str) ?: _("unknown")` lookups. */
const pick = (names: readonly string[], i: number, otherwise = 'unknown') => names[i] ?? otherwise;
/** virsh's UNKNOWNSTR. */
const unsupported = (names: readonly string[], i: number) => pick(names, i, 'unsupported value');
/** libvirt's NULLSTR. */
const nullstr = (s: string | null) => s ?? '<null>';

/** printf's `%g`, as virTypedParameterToString prints doubles. */
export function formatG(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (!Number.isFinite(d)) return d > 0 ? 'inf' : '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const [mant, exp] = d.toExponential(5).split('e');
  const x = Number(exp);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (x < -4 || x >= 6) return `${trim(mant)}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  return trim(d.toFixed(5 - x));
}

/** virTypedParameterToString. */
export function typedParamText(p: TypedParam): string {
  if (p.type === 'double') return formatG(p.value as number);
  if (p.type === 'boolean') return p.value ? '1' : '0';
  return String(p.value);
}

const paramLines = (params: readonly TypedParam[]) => params.map((p) => `\t${p.field}: ${typedParamText(p)}\n`).join('');

/** What `virsh event` prints for a domain event (one or more lines, each ending in a newline). */
export function formatDomainEvent(ev: DomainEvent): string {
  const head = `event '${ev.type}' for domain '${ev.domain.getName()}'`;
  switch (ev.type) {
    case 'lifecycle':
      return `${head}: ${pick(LIFECYCLE, ev.eventCode)} ${pick(DETAILS[ev.eventCode] ?? [], ev.detailCode)}\n`;
    case 'reboot': case 'control-error': case 'pm-wakeup': case 'pm-suspend': case 'pm-suspend-disk':
      return `${head}\n`;
    case 'rtc-change':
      return `${head}: ${ev.utcOffset}\n`;
    case 'watchdog':
      return `${head}: ${pick(WATCHDOG, ev.actionCode)}\n`;
    case 'io-error':
      return `${head}: ${ev.srcPath} (${ev.devAlias}) ${pick(IO_ERROR, ev.actionCode)}\n`;
    case 'io-error-reason':
      return `${head}: ${ev.srcPath} (${ev.devAlias}) ${pick(IO_ERROR, ev.actionCode)} due to ${ev.reason}\n`;
    case 'graphics': {
      const a = (x: typeof ev.local) => `${pick(GRAPHICS_FAMILY, x.familyCode)} ${x.node} ${x.service}`;
      return `${head}: ${pick(GRAPHICS_PHASE, ev.phaseCode)} local[${a(ev.local)}] remote[${a(ev.remote)}] ${ev.authScheme}\n` +
        ev.subject.map((s) => `\t${s.type}=${s.name}\n`).join('');
    }
    case 'block-job': case 'block-job-2':
      return `${head}: ${pick(BLOCK_JOB, ev.jobTypeCode, 'Unknown job')} for ${ev.disk} ${pick(BLOCK_JOB_STATUS, ev.statusCode)}\n`;
    case 'disk-change':
      return `event 'disk-change' for domain '${ev.domain.getName()}' disk ${ev.devAlias}: ${nullstr(ev.oldSrcPath)} -> ${nullstr(ev.newSrcPath)}: ${pick(DISK_CHANGE, ev.reasonCode)}\n`;
    case 'tray-change':
      return `event 'tray-change' for domain '${ev.domain.getName()}' disk ${ev.devAlias}: ${pick(TRAY, ev.reasonCode)}\n`;
    case 'balloon-change':
      return `${head}: ${ev.actual}KiB\n`;
    case 'device-removed': case 'device-added': case 'device-removal-failed':
      return `${head}: ${ev.devAlias}\n`;
    case 'tunable': case 'job-completed':
      return `${head}:\n${paramLines(ev.typedParams)}`;
    case 'agent-lifecycle':
      return `${head}: state: '${unsupported(AGENT_STATE, ev.stateCode)}' reason: '${unsupported(AGENT_REASON, ev.reasonCode)}'\n`;
    case 'migration-iteration':
      return `${head}: iteration: '${ev.iteration}'\n`;
    case 'metadata-change':
      return `${head}: type ${unsupported(METADATA, ev.metadataTypeCode)}, uri ${nullstr(ev.nsuri)}\n`;
    case 'block-threshold':
      return `${head}: dev: ${ev.dev}(${nullstr(ev.path)}) ${ev.threshold} ${ev.excess}\n`;
    case 'memory-failure':
      return `${head}:\nrecipient: ${unsupported(MF_RECIPIENT, ev.recipientCode)}\naction: ${unsupported(MF_ACTION, ev.actionCode)}\n` +
        `flags:\n\taction required: ${ev.actionRequired ? 1 : 0}\n\trecursive: ${ev.recursive ? 1 : 0}\n`;
    case 'memory-device-size-change':
      return `${head}:\nalias: ${ev.alias}\nsize: ${ev.size}\n`;
    case 'nic-mac-change': // virsh 11.2's format (virsh 9.0 does not know the event)
      return `${head}:\nalias: ${ev.alias}\noldMAC: ${ev.oldMAC}\nnewMAC: ${ev.newMAC}\n`;
  }
}

/** virTimeStringNowRaw: `YYYY-MM-DD HH:MM:SS.mmm+0000`, in UTC. */
export function virshTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+0000`;
}

/** What `virsh qemu-monitor-event` prints for one QMP event. */
export function formatQemuEvent(ev: QemuMonitorEvent, opts: { pretty?: boolean; timestamp?: Date | null } = {}): string {
  let details = ev.detailsJson;
  if (opts.pretty && details !== null) details = prettyJson(details) ?? details;
  const name = ev.domain.getName();
  if (opts.timestamp) return `${virshTimestamp(opts.timestamp)}: event ${ev.event} for domain '${name}': ${nullstr(details)}\n`;
  return `event ${ev.event} at ${ev.seconds}.${String(ev.micros).padStart(6, '0')} for domain '${name}': ${nullstr(details)}\n`;
}

/**
 * JSON as libvirt pretty-prints it (json-c with PRETTY and SPACED: two-space indent, `"key": value`, empty
 * containers as `{}` and `[]`, a newline at the end). Tokens are kept as they came (numbers keep every digit,
 * strings their escapes). Null when the text is not JSON.
 */
export function prettyJson(text: string): string | null {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}[\]:,]|\S/g) ?? [];
  let i = 0;
  const value = (level: number): string | null => {
    const t = tokens[i++];
    if (t === undefined) return null;
    if (t !== '{' && t !== '[') return /^[{}[\]:,]$/.test(t) ? null : t;
    const close = t === '{' ? '}' : ']';
    if (tokens[i] === close) {
      i++;
      return t + close;
    }
    const items: string[] = [];
    const pad = '  '.repeat(level + 1);
    for (;;) {
      let key = '';
      if (t === '{') {
        key = tokens[i++];
        if (!key?.startsWith('"') || tokens[i++] !== ':') return null;
        key += ': ';
      }
      const v = value(level + 1);
      if (v === null) return null;
      items.push(pad + key + v);
      const sep = tokens[i++];
      if (sep === close) break;
      if (sep !== ',') return null;
    }
    return `${t}\n${items.join(',\n')}\n${'  '.repeat(level)}${close}`;
  };
  const out = value(0);
  return out === null || i !== tokens.length ? null : `${out}\n`;
}

/** An event as one `--json` line: its fields, the domain by name, 64-bit values beyond 2^53 as strings. */
export function eventJson(ev: DomainEvent | QemuMonitorEvent, received: Date): string {
  const { family: _family, domain, ...rest } = ev;
  const fields = { ...rest } as Record<string, unknown>;
  delete fields.typedParams;
  return JSON.stringify({ ...fields, domain: domain.getName(), received: received.toISOString() }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n';
}

/**
 * libvirt's C client as the oracle of event tests: runs test/helpers/py-events.py (python3-libvirt with its
 * default event loop) registered for the same events, collects what it receives, and turns our typed events
 * into the same shape (the C callback's arguments in order) so the two lists compare directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { DomainEvent, EventGap, QemuMonitorEvent } from '../../src/events/index';

/** One event as python3-libvirt's callback received it. */
export interface CEvent {
  family: string;
  type: string;
  object: string | null;
  args: unknown[];
}

/** Which events the oracle registers for. */
export interface OracleConfig {
  /** A domain name to filter domain events by; null for all domains; false for none. */
  domain: string | null | false;
  families?: ('network' | 'storage-pool' | 'secret')[];
  /** QEMU monitor events of this domain (null: all, false: none). */
  qemu?: string | null | false;
}

export class CEventListener {
  readonly events: CEvent[] = [];
  readonly #child: ChildProcess;
  #stderr = '';
  #waiters: (() => void)[] = [];
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        this.events.push(JSON.parse(buf.slice(0, nl)) as CEvent);
        buf = buf.slice(nl + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    child.on('exit', () => {
      this.#exited = true;
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Starts the oracle and waits (bounded) until it has registered. */
  static async start(uri: string, config: OracleConfig): Promise<CEventListener> {
    const child = spawn('/usr/bin/python3', [path.join(__dirname, 'py-events.py'), uri, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const l = new CEventListener(child);
    await l.waitFor((e) => e.family === 'control' && e.type === 'ready', 30_000);
    l.events.length = 0;
    return l;
  }

  /** Waits until an event matching `pred` arrived (bounded). */
  async waitFor(pred: (e: CEvent) => boolean, ms = 30_000): Promise<CEvent> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (this.#exited) throw new Error(`python3-libvirt oracle exited: ${this.#stderr}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`python3-libvirt oracle: no matching event within ${ms} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Ends the oracle (closing its stdin; killed by pid after 5 s). */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin!.end();
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

const num = (v: number | bigint) => (typeof v === 'bigint' ? v.toString() : v);

/** Our event in the oracle's shape: the arguments libvirt's C callback for it takes, in order. */
export function asCEvent(ev: DomainEvent | QemuMonitorEvent | { family: string; type: string; [k: string]: unknown } | EventGap): CEvent {
  if (ev.type === 'gap') return { family: 'gap', type: 'gap', object: null, args: [] };
  const e = ev as Record<string, unknown> & { family: string; type: string };
  const domName = () => (e.domain as { getName(): string }).getName();
  if (e.family === 'qemu') {
    const q = ev as QemuMonitorEvent;
    return { family: 'qemu', type: 'monitor-event', object: domName(), args: [q.event, num(q.seconds), q.micros, q.detailsJson] };
  }
  if (e.family === 'domain') {
    const d = ev as DomainEvent;
    const args = ((): unknown[] => {
      switch (d.type) {
        case 'lifecycle': return [d.eventCode, d.detailCode];
        case 'reboot': case 'control-error': return [];
        case 'rtc-change': return [num(d.utcOffset)];
        case 'watchdog': return [d.actionCode];
        case 'io-error': return [d.srcPath, d.devAlias, d.actionCode];
        case 'io-error-reason': return [d.srcPath, d.devAlias, d.actionCode, d.reason];
        case 'graphics': {
          const a = (x: typeof d.local) => ({ family: x.familyCode, node: x.node, service: x.service });
          return [d.phaseCode, a(d.local), a(d.remote), d.authScheme, d.subject.map((s) => [s.type, s.name])];
        }
        case 'block-job': case 'block-job-2': return [d.disk, d.jobTypeCode, d.statusCode];
        case 'disk-change': return [d.oldSrcPath, d.newSrcPath, d.devAlias, d.reasonCode];
        case 'tray-change': return [d.devAlias, d.reasonCode];
        case 'pm-wakeup': case 'pm-suspend': case 'pm-suspend-disk': return [d.reason];
        case 'balloon-change': return [num(d.actual)];
        case 'device-removed': case 'device-added': case 'device-removal-failed': return [d.devAlias];
        case 'tunable': case 'job-completed': return [Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))];
        case 'agent-lifecycle': return [d.stateCode, d.reasonCode];
        case 'migration-iteration': return [d.iteration];
        case 'metadata-change': return [d.metadataTypeCode, d.nsuri];
        case 'block-threshold': return [d.dev, d.path, num(d.threshold), num(d.excess)];
        case 'memory-failure': return [d.recipientCode, d.actionCode, d.flags];
        case 'memory-device-size-change': return [d.alias, num(d.size)];
        case 'nic-mac-change': return [d.alias, d.oldMAC, d.newMAC];
      }
    })();
    return { family: 'domain', type: d.type, object: domName(), args };
  }
  const object = (e.network ?? e.pool ?? e.device) as { name: string } | undefined;
  const secret = e.secret as { uuid: string } | undefined;
  const args = e.type === 'lifecycle' ? [e.eventCode, e.detail] : [];
  return { family: e.family, type: e.type, object: object?.name ?? secret?.uuid ?? null, args };
}

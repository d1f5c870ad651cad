/**
 * The snapshot page: connect to a libvirt daemon through a WebSocket bridge (`libvirt-rpc ws-bridge` or
 * websockify), pick a domain, see its snapshots as a tree, create, revert and delete them, see checkpoints.
 * Plain DOM, no framework; libvirt-rpc's browser-safe core does the protocol.
 */
import {
  Connect,
  openWebSocketTransport,
  type Domain,
  type DomainSnapshot,
  type SnapshotDescription,
  type CheckpointDescription,
} from 'libvirt-rpc/core';

const STATES = ['no state', 'running', 'blocked', 'paused', 'shutdown', 'shut off', 'crashed', 'suspended'];

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

let conn: Connect | null = null;
let domain: Domain | null = null;
let busy = false;

function status(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
  const s = $('status');
  s.textContent = text;
  s.className = kind === 'info' ? '' : kind;
}

/** An error as a person reads it: the message, and the library's code when it has one. */
function explain(e: unknown): string {
  const err = e as { message?: string; code?: string };
  return `${err.message ?? String(e)}${err.code ? ` [${err.code}]` : ''}`;
}

/** Runs one user action: buttons are disabled meanwhile, the outcome goes to the status line. */
async function act(doing: string, fn: () => Promise<string | void>): Promise<void> {
  if (busy) return;
  busy = true;
  document.querySelectorAll('button').forEach((b) => (b.disabled = true));
  status(`${doing}…`);
  try {
    const done = await fn();
    status(done ?? 'Ready.', done ? 'ok' : 'info');
  } catch (e) {
    status(`${doing} failed: ${explain(e)}`, 'error');
  } finally {
    busy = false;
    document.querySelectorAll('button').forEach((b) => (b.disabled = false));
  }
}

function formatTime(d: Date | null): string {
  return d === null ? '' : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

async function connect(): Promise<string> {
  conn?.destroy();
  conn = null;
  const url = $<HTMLInputElement>('bridge').value.trim() || $<HTMLInputElement>('bridge').placeholder;
  const token = $<HTMLInputElement>('token').value.trim();
  const transport = await openWebSocketTransport(url, { token: token || undefined, timeout: 15_000 });
  const c = await Connect.openWith(transport, {
    name: $<HTMLInputElement>('uri').value.trim() || null,
    readOnly: $<HTMLInputElement>('readonly').checked,
  });
  conn = c;
  void c.closed.then((info) => {
    if (conn !== c) return;
    $('main').hidden = true;
    status(`Disconnected (${info.reason}${info.error ? `: ${explain(info.error)}` : ''}).`, info.reason === 'closed' ? 'info' : 'error');
  });
  const domains = await c.listAllDomains();
  const select = $<HTMLSelectElement>('domain');
  const wanted = new URLSearchParams(location.search).get('domain') ?? select.value;
  select.replaceChildren(...domains.map((d) => el('option', { value: d.getName(), textContent: d.getName() })));
  if (domains.some((d) => d.getName() === wanted)) select.value = wanted;
  $('main').hidden = false;
  await showDomain();
  return `Connected to ${await c.getHostname()} (libvirt ${version(await c.getLibVersion())}) through ${transport.description.replace(/^websocket:/, '')}.`;
}

function version(v: number): string {
  return `${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1e3}.${v % 1e3}`;
}

/** Reloads the selected domain: its state, snapshot tree and checkpoints. */
async function showDomain(): Promise<void> {
  if (conn === null) return;
  const name = $<HTMLSelectElement>('domain').value;
  if (!name) {
    $('tree').replaceChildren(el('p', { className: 'empty', textContent: 'No domains.' }));
    return;
  }
  domain = await conn.getDomainByName(name);
  const [state] = await domain.getState();
  const badge = $('domain-state');
  badge.textContent = STATES[state] ?? `state ${state}`;
  badge.className = `badge ${['', 'running', '', 'paused', '', 'shutoff'][state] ?? ''}`;
  const snapshots = await domain.listAllSnapshots();
  const described = await Promise.all(snapshots.map(async (s) => ({ snap: s, info: await s.describe() })));
  const current = (await domain.hasCurrentSnapshot()) ? (await domain.currentSnapshot()).getName() : null;
  $('tree').replaceChildren(drawTree(described, current));
  const checkpoints = await Promise.all((await domain.listAllCheckpoints()).map((c) => c.describe()));
  $('checkpoints').replaceChildren(drawCheckpoints(checkpoints));
}

type Described = { snap: DomainSnapshot; info: SnapshotDescription };

/** The snapshots as a tree of nested lists, children under their parent, oldest first. */
function drawTree(all: Described[], current: string | null): HTMLElement {
  if (all.length === 0) return el('p', { className: 'empty', textContent: 'No snapshots yet.' });
  const names = new Set(all.map((d) => d.info.name));
  const children = new Map<string | null, Described[]>();
  for (const d of all) {
    const parent = d.info.parent !== null && names.has(d.info.parent) ? d.info.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), d]);
  }
  const byTime = (a: Described, b: Described) => (a.info.creationTime?.getTime() ?? 0) - (b.info.creationTime?.getTime() ?? 0) || a.info.name.localeCompare(b.info.name);
  const branch = (parent: string | null): HTMLUListElement =>
    el('ul', {}, ...(children.get(parent) ?? []).sort(byTime).map((d) => {
      const li = el('li', {}, drawNode(d, d.info.name === current));
      if (children.has(d.info.name)) li.append(branch(d.info.name));
      return li;
    }));
  const tree = branch(null);
  tree.className = 'tree';
  tree.id = 'snapshot-tree';
  return tree;
}

function drawNode({ snap, info }: Described, isCurrent: boolean): HTMLElement {
  const node = el('div', { className: `node${isCurrent ? ' current' : ''}` },
    el('span', { className: 'name', textContent: info.name }),
    el('time', { textContent: formatTime(info.creationTime), dateTime: info.creationTime?.toISOString() ?? '' }),
    el('span', { className: `badge ${info.state ?? ''}`, textContent: info.state ?? '' }),
  );
  node.dataset.snapshot = info.name;
  if (isCurrent) {
    node.dataset.current = 'true';
    node.append(el('span', { className: 'mark', textContent: '★ current' }));
  }
  if (info.description) node.title = info.description;
  const revert = el('button', { type: 'button', textContent: 'Revert' });
  revert.dataset.action = 'revert';
  revert.onclick = () => act(`Reverting to ${info.name}`, async () => {
    await snap.revertTo();
    await showDomain();
    return `Reverted to ${info.name}.`;
  });
  const del = el('button', { type: 'button', className: 'danger', textContent: 'Delete' });
  del.dataset.action = 'delete';
  del.onclick = () => {
    if (!confirm(`Delete snapshot ${info.name}? Its children move up to its parent.`)) return;
    void act(`Deleting ${info.name}`, async () => {
      await snap.delete();
      await showDomain();
      return `Deleted ${info.name}.`;
    });
  };
  node.append(revert, del);
  return node;
}

function drawCheckpoints(list: CheckpointDescription[]): HTMLElement {
  if (list.length === 0) return el('p', { className: 'empty', textContent: 'No checkpoints.' });
  const row = (c: CheckpointDescription) => el('tr', {},
    el('td', { textContent: c.name }),
    el('td', { textContent: formatTime(c.creationTime) }),
    el('td', { textContent: c.parent ?? '—' }),
    el('td', { textContent: c.disks.filter((d) => d.checkpoint === 'bitmap').map((d) => d.name).join(', ') }));
  // Oldest first; within one second (creation times are whole seconds), parents before their children.
  const parents = new Map(list.map((c) => [c.name, c.parent]));
  const depth = (name: string | null, n = 0): number => (name === null || n > list.length ? n : depth(parents.get(name) ?? null, n + 1));
  const order = [...list].sort((a, b) => (a.creationTime?.getTime() ?? 0) - (b.creationTime?.getTime() ?? 0) || depth(a.name) - depth(b.name) || a.name.localeCompare(b.name));
  return el('table', { id: 'checkpoint-table' },
    el('tr', {}, ...['Checkpoint', 'Created', 'Parent', 'Disks'].map((h) => el('th', { textContent: h }))),
    ...order.map(row));
}

function init(): void {
  const params = new URLSearchParams(location.search);
  // The token is never taken from the URL: addresses end up in histories and logs.
  for (const key of ['bridge', 'uri'] as const) {
    const v = params.get(key);
    if (v !== null) $<HTMLInputElement>(key).value = v;
  }
  $<HTMLInputElement>('readonly').checked = params.get('readonly') === '1';
  $('connect').onsubmit = (e) => {
    e.preventDefault();
    void act('Connecting', connect);
  };
  $('domain').onchange = () => void act('Loading', async () => void (await showDomain()));
  $('refresh').onclick = () => void act('Loading', async () => void (await showDomain()));
  $('create').onsubmit = (e) => {
    e.preventDefault();
    const name = $<HTMLInputElement>('snapshot-name').value.trim();
    const description = $<HTMLInputElement>('snapshot-description').value.trim();
    void act(`Creating snapshot ${name || '(named by libvirt)'}`, async () => {
      if (domain === null) throw new Error('no domain selected');
      const snap = await domain.createSnapshot({ ...(name ? { name } : {}), ...(description ? { description } : {}) });
      $<HTMLInputElement>('snapshot-name').value = '';
      await showDomain();
      return `Created snapshot ${snap.getName()}.`;
    });
  };
}

init();

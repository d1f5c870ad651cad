/**
 * The snapshot page (examples/browser, built with esbuild) in Debian's Chromium, headless, driven by
 * playwright-core: through `libvirt-rpc ws-bridge` and through websockify, it creates two snapshots of a guest
 * of its own, reverts to the first and deletes the second; virsh on the same daemon checks every step, and a
 * screenshot's pixels show the tree. Set LIBVIRT_RPC_SCREENSHOT_OUT=FILE to keep the bridge flow's screenshot
 * (docs/browser-snapshots.png is one).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildPage } from '../../examples/browser/build.cjs';
import { launchChromium, type Chromium } from '../helpers/chromium';
import { virsh } from '../helpers/open';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import {
  ACTION_MS, createSnapshot, deleteSnapshot, inspectScreenshot, openPage, readTree, revertTo, waitStatus, type PageTarget,
} from '../helpers/snapshot-page';
import { serveFolder, type StaticServer } from '../helpers/static-server';
import { startWebsockify, type Websockify } from '../helpers/websockify';
import { startBridgeProcess, type BridgeProcess } from '../helpers/ws-bridge-process';
import { guestName } from '../helpers/guest';

const ROOT = path.join(__dirname, '..', '..');
const guest = guestName('browser-page');
// Checkpoints live on a guest of their own: a revert fails while checkpoint bitmaps exist (FIELD-NOTES).
const ckptGuest = guestName('browser-ckpt');
const TOKEN = 'page-test-token-0123456789';
let work: string;
let server: StaticServer;
let chrome: Chromium;
let bridge: BridgeProcess;
let websockify: Websockify;
let typecheck: Promise<{ code: number | null; output: string }>;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-page-'));
  // The page's own typecheck (DOM types, the core's public API) runs while the rest starts.
  typecheck = new Promise((resolve) => {
    const tsc = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'examples', 'browser', 'tsconfig.json')], { cwd: ROOT });
    let output = '';
    tsc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    tsc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => tsc.kill('SIGKILL'), 170_000);
    tsc.on('exit', (code) => (clearTimeout(timer), resolve({ code, output })));
  });
  const sb = sandbox();
  const tokenFile = path.join(work, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  await buildPage(path.join(work, 'page'));
  server = await serveFolder(path.join(work, 'page'));
  [chrome, bridge, websockify] = await Promise.all([
    launchChromium(),
    startBridgeProcess(['--listen', '127.0.0.1:0', '--connect', sb.unixUri, '--token-file', tokenFile, '--origin', server.origin]),
    startWebsockify({ unix: sb.unixSocket }),
    createGuest(guest),
    createGuest(ckptGuest),
  ]);
}, 180_000);

afterAll(async () => {
  await chrome?.close();
  await bridge?.stop();
  await websockify?.stop();
  await server?.close();
  await removeGuest(guest);
  await removeGuest(ckptGuest);
  fs.rmSync(work, { recursive: true, force: true });
}, 120_000);

const v = (...args: string[]) => virsh(sandbox().unixUri, ...args).then((s) => s.trim());
const current = () => v('snapshot-current', guest, '--name').catch(() => null);
const parentOf = (name: string) => v('snapshot-parent', guest, '--snapshotname', name).catch(() => null);
const names = async () => (await v('snapshot-list', guest, '--name')).split('\n').filter(Boolean).sort();

/** The flow of the issue, checked with virsh after each step; returns the page as it is before the deletion's screenshot. */
async function snapshotFlow(target: PageTarget, first: string, second: string, screenshot: string) {
  const page = await openPage(chrome.context, target);
  const before = await current();
  const existing = await names();

  await createSnapshot(page, first);
  expect(await names()).toEqual([...existing, first].sort());
  expect(await current()).toBe(first);
  expect(await parentOf(first)).toBe(before);

  await createSnapshot(page, second);
  expect(await current()).toBe(second);
  expect(await parentOf(second)).toBe(first);

  await revertTo(page, first);
  expect(await current()).toBe(first);
  expect(await v('domstate', guest)).toBe('running');

  // The tree as drawn: the second under the first, the first marked current, times and states from the XML.
  const tree = await readTree(page);
  const node = (n: string) => tree.find((t) => t.name === n)!;
  expect(node(first)).toMatchObject({ parent: before, current: true, state: 'running' });
  expect(node(second)).toMatchObject({ parent: first, current: false, state: 'running' });
  const created = (await v('snapshot-dumpxml', guest, first)).match(/<creationTime>(\d+)<\/creationTime>/)![1];
  expect(node(first).time).toBe(new Date(Number(created) * 1000).toISOString());

  const facts = await inspectScreenshot(page, screenshot);
  expect(facts.colours).toBeGreaterThan(50); // text, badges, borders: not a blank page
  expect(facts.errorPixels).toBe(0); // no failed status line
  expect(facts.currentBorderPixels).toBeGreaterThan(100); // the current node's blue frame, where the DOM puts it
  expect(facts.connectorPixels).toBeGreaterThan(20); // the lines that join a child to its parent

  await deleteSnapshot(page, second);
  expect(await names()).toEqual([...existing, first].sort());
  expect(await current()).toBe(first);
  expect((await readTree(page)).map((t) => t.name)).not.toContain(second);
  await page.close();
}

test('the page typechecks against the browser-safe core', async () => {
  const { code, output } = await typecheck;
  expect(output).toBe('');
  expect(code).toBe(0);
}, 180_000);

test('through websockify in front of the daemon\'s unix socket: create two, revert to the first, delete the second', async () => {
  await snapshotFlow({ origin: server.origin, bridge: websockify.url, domain: guest }, 'ws-first', 'ws-second', path.join(work, 'websockify.png'));
}, 6 * ACTION_MS);

test('through ws-bridge: the same flow, and the screenshot shows the tree', async () => {
  const shot = path.join(work, 'bridge.png');
  await snapshotFlow({ origin: server.origin, bridge: bridge.url, token: TOKEN, domain: guest }, 'first', 'second', shot);
  const out = process.env.LIBVIRT_RPC_SCREENSHOT_OUT;
  if (out) fs.copyFileSync(shot, out);
  expect(bridge.log()).toMatch(new RegExp(`origin=${server.origin.replace(/[.]/g, '\\.')} accepted`));
  expect(bridge.log()).not.toContain(TOKEN);
}, 6 * ACTION_MS);

test('checkpoints: the page lists those virsh made, with their parents and disks', async () => {
  await v('checkpoint-create-as', ckptGuest, 'c1');
  await v('checkpoint-create-as', ckptGuest, 'c2');
  const page = await openPage(chrome.context, { origin: server.origin, bridge: bridge.url, token: TOKEN, domain: ckptGuest });
  await page.waitForSelector('#checkpoint-table', { timeout: ACTION_MS });
  const rows = await page.$$eval('#checkpoint-table tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([
    ['c1', '—', 'vda'],
    ['c2', 'c1', 'vda'],
  ]);
  expect(await page.textContent('#tree')).toBe('No snapshots yet.');
  await page.close();
}, 2 * ACTION_MS);

test('a wrong token: the page shows the bridge\'s reason', async () => {
  const page = await chrome.context.newPage();
  await page.goto(`${server.origin}/index.html?bridge=${encodeURIComponent(bridge.url)}`);
  await page.fill('#token', 'not-the-token');
  await page.click('#connect-button');
  const text = await waitStatus(page, /failed/).catch((e: Error) => e.message);
  expect(text).toMatch(/Connecting failed: .*the bridge refused the connection \(close code 4401\): bearer token wrong \[ERR_WEBSOCKET_REFUSED\]/);
  expect(await page.isHidden('#main')).toBe(true);
  await page.close();
}, ACTION_MS);

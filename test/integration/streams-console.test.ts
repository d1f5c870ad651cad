/**
 * A guest's console, channel and screen through streams, on a real QEMU guest whose SeaBIOS writes to its
 * serial console: the console shows SeaBIOS's banner; a second client is refused the console unless it forces
 * it; the console ends when the guest goes away; a screenshot is a valid image of the guest's screen size, as
 * virsh screenshot takes it; a channel the guest lacks is the daemon's typed error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, Connect, Domain, RemoteError, type Stream } from '../../src/index';
import { createGuest, removeGuest, type GuestInfo } from '../helpers/sandbox';
import { tempDir, uniqueName, virsh } from './streams-peer';

const name = uniqueName('streams-console');
const tmp = tempDir(name);
let guest: GuestInfo;
let conn: Connect;
let dom: Domain;

/** Reads from a console until `pattern` shows (bounded); returns the text so far (latin1). */
async function readUntil(st: Stream, pattern: RegExp, ms = 60_000): Promise<string> {
  let text = '';
  const end = Date.now() + ms;
  while (!pattern.test(text)) {
    const left = end - Date.now();
    if (left <= 0) throw new Error(`no ${pattern} on the console within ${ms} ms; got ${JSON.stringify(text)}`);
    const item = await st.receive({ timeout: left });
    if (item === null) throw new Error(`the console ended before ${pattern}; got ${JSON.stringify(text)}`);
    if (item instanceof Uint8Array) text += Buffer.from(item).toString('latin1');
  }
  return text;
}

/** Width and height of a PNG (IHDR) or binary PPM (P6) image. */
function imageSize(mime: string, b: Uint8Array): [number, number] {
  const buf = Buffer.from(b);
  if (mime === 'image/png') {
    expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(buf.toString('latin1', 12, 16)).toBe('IHDR');
    return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  }
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.toString('latin1', 0, 64));
  expect(m).not.toBeNull();
  const [w, h] = [Number(m![1]), Number(m![2])];
  expect(buf.length).toBe(m![0].length + w * h * 3);
  return [w, h];
}

beforeAll(async () => {
  guest = await createGuest(name, { console: true, start: false });
  conn = await connect((await import('../helpers/sandbox')).sandbox().unixUri);
  dom = await conn.getDomainByName(name);
  // Paused at start, so that nothing SeaBIOS prints is lost before the console is open.
  await dom.create(Domain.START_PAUSED);
}, 120_000);

afterAll(async () => {
  await conn?.close();
  if (guest) await removeGuest(name);
  tmp.remove();
}, 120_000);

test('the console shows SeaBIOS\'s banner; a second client is refused it unless it forces it', async () => {
  const st = await dom.openConsole();
  await dom.resume();
  const text = await readUntil(st, /SeaBIOS \(version [^)]+\)/);
  expect(text).toMatch(/SeaBIOS \(version/);

  const err = await dom.openConsole().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).message).toMatch(/console/i);

  const forced = await dom.openConsole(null, Domain.OPEN_CONSOLE_FORCE);
  // The daemon ends the first session with a stream error ("stream had I/O failure"), queued data or not.
  let first: unknown;
  do first = await st.receive({ timeout: 30_000 }).then((x) => x, (e: unknown) => e);
  while (first instanceof Uint8Array);
  expect(first).toBeInstanceOf(RemoteError);
  expect((first as RemoteError).procedure).toBe('REMOTE_PROC_DOMAIN_OPEN_CONSOLE');
  await st.abort(); // nothing to send: the daemon already closed that stream
  await forced.finish();
}, 120_000);

test('a screenshot is a valid image of the guest\'s screen size, as virsh screenshot takes it', async () => {
  const shot = await dom.screenshot(0);
  expect(['image/png', 'image/x-portable-pixmap']).toContain(shot.mimeType);
  const [w, h] = imageSize(shot.mimeType, shot.data);
  expect(w).toBeGreaterThanOrEqual(320);
  expect(h).toBeGreaterThanOrEqual(200);

  const file = path.join(tmp.dir, 'virsh.img');
  await virsh('screenshot', name, '--file', file);
  const theirs = fs.readFileSync(file);
  const mime = theirs.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])) ? 'image/png' : 'image/x-portable-pixmap';
  expect(mime).toBe(shot.mimeType);
  expect(imageSize(mime, theirs)).toEqual([w, h]);
}, 60_000);

test('a channel the guest does not have is the daemon\'s typed error', async () => {
  const err = await dom.openChannel('org.example.nothing').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).procedure).toBe('REMOTE_PROC_DOMAIN_OPEN_CHANNEL');
}, 30_000);

test('the console ends when the guest goes away: the end of its data, then a clean finish', async () => {
  const st = await dom.openConsole(null, Domain.OPEN_CONSOLE_FORCE);
  await dom.destroy();
  let item: unknown;
  do item = await st.receive({ timeout: 30_000 });
  while (item instanceof Uint8Array); // output still in flight
  expect(item).toBeNull();
  await st.finish();
  expect(st.state).toBe('finished');
  expect(await conn.getLibVersion()).toBeGreaterThanOrEqual(9_000_000);
}, 60_000);

/** The object layer's helpers: UUIDs as libvirt parses and prints them, flag checks, bounded pipelining, deadlines. */
import { InvalidArgumentError, TimeoutError } from '../../src/errors';
import { Deadline, checkFlags, pipelined, uuidBytes, uuidString } from '../../src/objects/support';
import { typedParamsToRecord } from '../../src/objects/typed-params';

test('UUIDs: dashes anywhere, spaces around, either case; printed lower-case 8-4-4-4-12', () => {
  const bytes = uuidBytes('6695eb01-f6a4-8304-79aa-97f2502e193f');
  expect(bytes).toHaveLength(16);
  expect(bytes[0]).toBe(0x66);
  expect(bytes[15]).toBe(0x3f);
  expect(uuidString(bytes)).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
  expect(uuidBytes('  6695EB01F6A4830479AA97F2502E193F ')).toEqual(bytes);
  expect(uuidBytes('6695-eb01-f6a4-8304-79aa-97f2-502e-193f')).toEqual(bytes);
  expect(uuidBytes(bytes)).toBe(bytes);
  for (const bad of ['', '6695eb01', '6695eb01-f6a4-8304-79aa-97f2502e193f00', 'g695eb01-f6a4-8304-79aa-97f2502e193f']) {
    expect(() => uuidBytes(bad)).toThrow(InvalidArgumentError);
  }
  expect(() => uuidBytes(new Uint8Array(15))).toThrow(InvalidArgumentError);
});

test('flags must be unsigned 32-bit integers', () => {
  expect(checkFlags(0)).toBe(0);
  expect(checkFlags(0xffffffff)).toBe(0xffffffff);
  for (const bad of [-1, 1.5, NaN, 2 ** 32, Infinity]) expect(() => checkFlags(bad)).toThrow(InvalidArgumentError);
});

test('pipelined keeps order, never exceeds its window, and stops issuing after a failure', async () => {
  let inFlight = 0;
  let most = 0;
  const items = Array.from({ length: 50 }, (_, i) => i);
  const out = await pipelined(items, async (x) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, (x * 7) % 5));
    inFlight--;
    return x * 2;
  }, 8);
  expect(out).toEqual(items.map((x) => x * 2));
  expect(most).toBe(8);

  const started: number[] = [];
  const err = await pipelined(items, async (x) => {
    started.push(x);
    await new Promise((r) => setTimeout(r, 1));
    if (x === 3) throw new Error('boom');
    return x;
  }, 4).catch((e: Error) => e);
  expect((err as Error).message).toBe('boom');
  await new Promise((r) => setTimeout(r, 20));
  expect(started.length).toBeLessThan(10);
  expect(await pipelined([], async () => 1)).toEqual([]);
});

test('a Deadline hands each call what is left of the time, and fails once it is spent', async () => {
  expect(new Deadline({}).next()).toEqual({ signal: undefined, timeout: undefined });
  const signal = new AbortController().signal;
  const d = new Deadline({ timeout: 60, signal });
  const first = d.next();
  expect(first.signal).toBe(signal);
  expect(first.timeout).toBeGreaterThan(0);
  expect(first.timeout).toBeLessThanOrEqual(60);
  await new Promise((r) => setTimeout(r, 80));
  expect(() => d.next()).toThrow(TimeoutError);
});

test('typed parameters become a record; 64-bit values are numbers when exact, else bigints', () => {
  expect(typedParamsToRecord([
    { field: 'i', value: { type: 1, i: -3 } },
    { field: 'ui', value: { type: 2, ui: 7 } },
    { field: 'l', value: { type: 3, l: -5n } },
    { field: 'ul', value: { type: 4, ul: 2n ** 60n } },
    { field: 'd', value: { type: 5, d: 0.5 } },
    { field: 'b', value: { type: 6, b: 1 } },
    { field: 's', value: { type: 7, s: 'x' } },
  ])).toEqual({ i: -3, ui: 7, l: -5, ul: 2n ** 60n, d: 0.5, b: true, s: 'x' });
});

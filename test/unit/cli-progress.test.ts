/**
 * The transfer progress line: nothing for the first second, at most ten redraws a second, bytes / total,
 * percent, rate and time left, a final line with a newline; nothing at all when disabled (stderr not a
 * terminal, or -q).
 */
import { formatBytes, formatDuration, Progress, progressLine } from '../../src/cli/progress';

function setup(enabled: boolean, total: number | null) {
  let t = 0;
  let out = '';
  const p = new Progress({ write: (s) => void (out += s) }, enabled, total, () => t);
  return { p, advance: (ms: number) => (t += ms), out: () => out };
}

test('units and durations', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(1023)).toBe('1023 B');
  expect(formatBytes(1536)).toBe('1.50 KiB');
  expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MiB');
  expect(formatBytes(1024 ** 3)).toBe('1.00 GiB');
  expect(formatDuration(5)).toBe('0:05');
  expect(formatDuration(3725)).toBe('1:02:05');
  expect(formatDuration(Infinity)).toBe('--:--');
});

test('a line: bar, bytes of total, percent, rate, ETA; without a total, bytes and rate', () => {
  expect(progressLine(256 * 1024 ** 2, 1024 ** 3, 2000)).toBe('[######------------------] 256 MiB / 1.00 GiB  25%  128 MiB/s  ETA 0:06');
  expect(progressLine(5 * 1024 ** 2, null, 1000)).toBe('5.00 MiB  5.00 MiB/s');
});

test('nothing for the first second; then redraws at most every 100 ms; the end adds a newline', () => {
  const { p, advance, out } = setup(true, 1000);
  p.update(100);
  advance(999);
  p.update(200);
  expect(out()).toBe('');
  advance(1);
  p.update(300);
  expect(out()).toBe('\r\x1b[K[#######-----------------] 300 B / 1000 B  30%  300 B/s  ETA 0:02');
  advance(50);
  p.update(400);
  expect(out().split('\r').length).toBe(2); // throttled
  advance(50);
  p.update(1000);
  p.end();
  expect(out().endsWith('\r\x1b[K[########################] 1000 B / 1000 B  100%  909 B/s  ETA 0:00\n')).toBe(true);
  p.end();
  expect(out().split('\n').length).toBe(2);
});

test('a transfer under a second, or a disabled line, draws nothing', () => {
  const fast = setup(true, 10);
  fast.p.update(10);
  fast.p.end();
  expect(fast.out()).toBe('');
  const off = setup(false, 10);
  off.advance(5000);
  off.p.update(5);
  off.p.end();
  expect(off.out()).toBe('');
});

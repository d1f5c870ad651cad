/**
 * The transfer progress line of `vol-upload` and `vol-download` on stderr: bytes done (and of how many),
 * a bar, the rate and the time left. It appears only once a transfer has run for a second, only when stderr is
 * a terminal, and never under `-q`; it redraws at most ten times a second and ends with a final line.
 */
import type { CliWriter } from './command.js';

/** How long a transfer runs before its progress line appears, in ms. */
export const PROGRESS_DELAY_MS = 1000;
const REDRAW_MS = 100;
const BAR = 24;

/** `1536` -> `1.5 KiB`; binary units as virsh's vshPrettyCapacity prints them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One progress line: `[#####-----]  12.0 MiB / 100 MiB  12%  34.5 MiB/s  ETA 0:03`. */
export function progressLine(bytes: number, total: number | null, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0;
  const rateText = `${formatBytes(Math.round(rate))}/s`;
  if (total === null || total <= 0) return `${formatBytes(bytes)}  ${rateText}`;
  const frac = Math.min(1, bytes / total);
  const filled = Math.round(frac * BAR);
  const eta = rate > 0 ? (total - bytes) / rate : Infinity;
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${formatBytes(bytes)} / ${formatBytes(total)}  ${Math.floor(frac * 100)}%  ${rateText}  ETA ${formatDuration(eta)}`;
}

/** A progress line for one transfer; `update` it as bytes move, `end` it once. */
export class Progress {
  readonly #out: CliWriter;
  readonly #enabled: boolean;
  readonly #total: number | null;
  readonly #now: () => number;
  readonly #start: number;
  #lastDraw = -Infinity;
  #drawn = false;
  #bytes = 0;

  /**
   * @param enabled whether to draw at all: stderr is a terminal and `-q` was not given.
   * @param total bytes the transfer will move, when known.
   */
  constructor(out: CliWriter, enabled: boolean, total: number | null, now: () => number = Date.now) {
    this.#out = out;
    this.#enabled = enabled;
    this.#total = total;
    this.#now = now;
    this.#start = now();
  }

  /** Whether a line was drawn. */
  get drawn(): boolean {
    return this.#drawn;
  }

  update(bytes: number): void {
    this.#bytes = bytes;
    if (!this.#enabled) return;
    const t = this.#now();
    if (t - this.#start < PROGRESS_DELAY_MS || t - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = t;
    this.#drawn = true;
    this.#out.write(`\r\x1b[K${progressLine(bytes, this.#total, t - this.#start)}`);
  }

  /** Draws the final state (when a line is showing) and moves to the next line. */
  end(): void {
    if (!this.#drawn) return;
    this.#out.write(`\r\x1b[K${progressLine(this.#bytes, this.#total, this.#now() - this.#start)}\n`);
    this.#drawn = false;
  }
}

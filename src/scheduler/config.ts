/**
 * The scheduler's configuration as it comes from a JSON file or from flags: validated, with every error naming
 * the field (`config.policy.levels: ...`), and unknown fields refused so a typo is an error, not a silent default.
 * Durations may be written as milliseconds or as `500ms`, `30s`, `5m`, `2h`, `3d`, `1w`.
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_SPAN_MS, PolicyError, validatePolicy, type RetentionPolicy } from './policy.js';
import { SNAPSHOT_PREFIX_PATTERN } from './records.js';
import type { ScheduledKind } from './scheduler.js';

/** A validated schedule configuration. */
export interface ScheduleConfig {
  /** The domain to schedule (may also come from the command line). */
  domain: string | null;
  policy: RetentionPolicy;
  kind: ScheduledKind;
  /** Time between snapshots, ms; null = the policy's base unit. */
  everyMs: number | null;
  prefix: string;
  quiesce: 'no' | 'require' | 'fallback';
  maxFailures: number;
  backoff: { minMs?: number; maxMs?: number };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s` -> 90000; a plain number is milliseconds. */
export function parseDuration(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(v.trim());
    if (m) return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
  }
  throw new InvalidArgumentError(`${field}: expected a duration such as 500ms, 30s, 5m, 2h, 3d, 1w or a number of ms`);
}

function durationsIn(obj: Record<string, unknown>, keys: readonly string[], path: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const k of keys) if (out[k] !== undefined) out[k] = parseDuration(out[k], `${path}.${k}`);
  return out;
}

const TOP = ['domain', 'policy', 'kind', 'every', 'prefix', 'quiesce', 'maxFailures', 'backoff'];

/** Validates a parsed config object (from JSON or from flags). */
export function validateScheduleConfig(input: unknown, path = 'config'): ScheduleConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidArgumentError(`${path}: must be an object`);
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TOP.includes(k)) throw new InvalidArgumentError(`${path}.${k}: unknown field (known: ${TOP.join(', ')})`);
  const domain = o.domain === undefined ? null : o.domain;
  if (domain !== null && (typeof domain !== 'string' || domain === '')) throw new InvalidArgumentError(`${path}.domain: must be a non-empty string`);
  if (typeof o.policy !== 'object' || o.policy === null) throw new PolicyError(`${path}.policy`, 'required: an object such as { "baseMs": "1h", "levels": 8, "slots": 2, "keepLast": 3 }');
  const policy = validatePolicy(durationsIn(o.policy as Record<string, unknown>, ['baseMs', 'keepWithinMs', 'graceMs', 'unitMs'], `${path}.policy`), `${path}.policy`);
  const kind = o.kind ?? 'internal';
  if (kind !== 'internal' && kind !== 'disk-only' && kind !== 'checkpoint') throw new InvalidArgumentError(`${path}.kind: expected one of internal, disk-only, checkpoint`);
  const everyMs = o.every === undefined ? null : parseDuration(o.every, `${path}.every`);
  if (everyMs !== null && (everyMs < 1 || everyMs > MAX_SPAN_MS)) throw new InvalidArgumentError(`${path}.every: must be from 1 ms to 2^48 ms (about 8,900 years)`);
  const prefix = o.prefix ?? 'lvrpc';
  if (typeof prefix !== 'string' || !SNAPSHOT_PREFIX_PATTERN.test(prefix)) {
    throw new InvalidArgumentError(`${path}.prefix: letters, digits, _ . - (up to 64), not starting with . or -`);
  }
  const quiesce = o.quiesce ?? 'no';
  if (quiesce !== 'no' && quiesce !== 'require' && quiesce !== 'fallback') throw new InvalidArgumentError(`${path}.quiesce: expected one of no, require, fallback`);
  const maxFailures = o.maxFailures ?? 5;
  if (typeof maxFailures !== 'number' || !Number.isInteger(maxFailures) || maxFailures < 1 || maxFailures > 1000) {
    throw new InvalidArgumentError(`${path}.maxFailures: must be an integer from 1 to 1000`);
  }
  let backoff: ScheduleConfig['backoff'] = {};
  if (o.backoff !== undefined) {
    if (typeof o.backoff !== 'object' || o.backoff === null) throw new InvalidArgumentError(`${path}.backoff: must be an object`);
    const b = o.backoff as Record<string, unknown>;
    for (const k of Object.keys(b)) if (k !== 'minMs' && k !== 'maxMs') throw new InvalidArgumentError(`${path}.backoff.${k}: unknown field (known: minMs, maxMs)`);
    backoff = {
      minMs: b.minMs === undefined ? undefined : parseDuration(b.minMs, `${path}.backoff.minMs`),
      maxMs: b.maxMs === undefined ? undefined : parseDuration(b.maxMs, `${path}.backoff.maxMs`),
    };
    if (backoff.minMs !== undefined && backoff.minMs < 100) throw new InvalidArgumentError(`${path}.backoff.minMs: at least 100 ms (no busy loop)`);
    for (const k of ['minMs', 'maxMs'] as const) {
      if ((backoff[k] ?? 0) > MAX_SPAN_MS) throw new InvalidArgumentError(`${path}.backoff.${k}: at most 2^48 ms (about 8,900 years)`);
    }
    if (backoff.minMs !== undefined && backoff.maxMs !== undefined && backoff.maxMs < backoff.minMs) {
      throw new InvalidArgumentError(`${path}.backoff.maxMs: must not be below minMs`);
    }
  }
  return { domain: domain as string | null, policy, kind, everyMs, prefix, quiesce, maxFailures, backoff };
}

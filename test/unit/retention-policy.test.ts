import { InvalidArgumentError, LibvirtRpcError } from '../../src/errors';
import { PolicyError, validatePolicy } from '../../src/scheduler/policy';
import { computeRetention } from '../../src/scheduler/retention';

const aligned = { baseMs: 3_600_000, levels: 8, slots: 2, keepLast: 3 };

function refusal(input: unknown): PolicyError {
  try {
    validatePolicy(input);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return err as PolicyError;
  }
  throw new Error(`policy was accepted: ${JSON.stringify(input)}`);
}

describe('retention policy validation', () => {
  it('fills in the defaults of an aligned policy', () => {
    expect(validatePolicy(aligned)).toEqual({ kind: 'aligned', ...aligned, keepWithinMs: 0, graceMs: 3_600_000 });
  });

  it('fills in the defaults of a DSS policy', () => {
    expect(validatePolicy({ kind: 'dss', unitMs: 86_400_000, intervals: 5 })).toEqual({
      kind: 'dss',
      unitMs: 86_400_000,
      intervals: 5,
      graceMs: 86_400_000,
    });
  });

  it('refuses an empty policy, naming the first missing field', () => {
    const err = refusal({});
    expect(err.field).toBe('policy.keepLast');
    expect(err.message).toBe('policy.keepLast: is required');
    expect(refusal({ kind: 'dss' }).field).toBe('policy.intervals');
  });

  it('refuses policies that would leave no complete snapshot', () => {
    expect(refusal({ ...aligned, keepLast: 0 }).message).toMatch(/^policy\.keepLast: must be at least 1/);
    expect(refusal({ kind: 'dss', unitMs: 1000, intervals: 0 }).message).toMatch(/^policy\.intervals: must be at least 1/);
  });

  it.each([
    [{ ...aligned, baseMs: 0 }, 'policy.baseMs'],
    [{ ...aligned, baseMs: 1.5 }, 'policy.baseMs'],
    [{ ...aligned, baseMs: '3600000' }, 'policy.baseMs'],
    [{ ...aligned, levels: -1 }, 'policy.levels'],
    [{ ...aligned, levels: 49 }, 'policy.levels'],
    [{ ...aligned, baseMs: 2 ** 40, levels: 10 }, 'policy.levels'],
    [{ ...aligned, slots: 0 }, 'policy.slots'],
    [{ ...aligned, slots: Number.NaN }, 'policy.slots'],
    [{ ...aligned, keepLast: 2.5 }, 'policy.keepLast'],
    [{ ...aligned, keepWithinMs: -1 }, 'policy.keepWithinMs'],
    [{ ...aligned, graceMs: Infinity }, 'policy.graceMs'],
    [{ ...aligned, keeplast: 3 }, 'policy.keeplast'],
    [{ ...aligned, kind: 'hourly' }, 'policy.kind'],
    [{ kind: 'dss', unitMs: -5, intervals: 5 }, 'policy.unitMs'],
    [{ kind: 'dss', unitMs: 1000, intervals: 32 }, 'policy.intervals'],
    [{ kind: 'dss', unitMs: 2 ** 47, intervals: 3 }, 'policy.unitMs'],
    [{ kind: 'dss', unitMs: 1000, intervals: 5, levels: 3 }, 'policy.levels'],
    [null, 'policy'],
    [[aligned], 'policy'],
  ])('refuses %j, naming %s', (input, field) => {
    const err = refusal(input);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('is an InvalidArgumentError with its own code', () => {
    const err = refusal({ ...aligned, slots: -3 });
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toBeInstanceOf(LibvirtRpcError);
    expect(err.code).toBe('ERR_POLICY');
    expect(err.message).toBe('policy.slots: must be an integer from 1 to 1000000, got -3');
  });

  it('is enforced by the retention function before it looks at snapshots', () => {
    expect(() => computeRetention([], { ...aligned, keepLast: 0 }, { now: 0 })).toThrow(PolicyError);
  });

  it('refuses a bad now and bad snapshot records, naming the field', () => {
    expect(() => computeRetention([], aligned, { now: Number.NaN })).toThrow(/^options\.now: /);
    const good = { id: 'a', created: 1, completed: 2 };
    expect(() => computeRetention([good, { ...good, id: '' }], aligned, { now: 5 })).toThrow(/^snapshots\[1\]\.id: /);
    expect(() => computeRetention([{ ...good, created: Infinity }], aligned, { now: 5 })).toThrow(/^snapshots\[0\]\.created: /);
    expect(() => computeRetention([{ ...good, completed: 'x' as never }], aligned, { now: 5 })).toThrow(
      /^snapshots\[0\]\.completed: /,
    );
    expect(() => computeRetention([{ ...good, kind: 'zfs' as never }], aligned, { now: 5 })).toThrow(/^snapshots\[0\]\.kind: /);
    expect(() => computeRetention([{ ...good, pinned: 1 as never }], aligned, { now: 5 })).toThrow(/^snapshots\[0\]\.pinned: /);
  });
});

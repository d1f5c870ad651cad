/** libvirt's typed parameters (virTypedParameter) as plain records. */
import type * as remote from '../../generated/remote-protocol.js';

/** A typed parameter's value: ints and doubles as numbers, 64-bit ints as numbers when exact, else bigints. */
export type TypedValue = number | bigint | string | boolean;

/**
 * Turns a typed parameter list into `{ field: value }`. 64-bit values become numbers when they fit in
 * Number.MAX_SAFE_INTEGER (job sizes and times always do in practice) and stay bigints otherwise.
 */
export function typedParamsToRecord(params: readonly remote.remote_typed_param[]): Record<string, TypedValue> {
  const out: Record<string, TypedValue> = {};
  for (const { field, value: v } of params) {
    switch (v.type) {
      case 1: out[field] = v.i; break;
      case 2: out[field] = v.ui; break;
      case 3: out[field] = exact(v.l); break;
      case 4: out[field] = exact(v.ul); break;
      case 5: out[field] = v.d; break;
      case 6: out[field] = v.b !== 0; break;
      case 7: out[field] = v.s; break;
    }
  }
  return out;
}

function exact(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

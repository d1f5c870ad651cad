/**
 * The Node entry's observability: every call published on `node:diagnostics_channel` (after undici's
 * `undici:request:*` channels) and a debug log of connection life under `NODE_DEBUG=libvirt-rpc`. The browser
 * core only offers hooks (src/protocol/observe.ts); this module wires them to Node.
 *
 * Channels (messages carry names, numbers, sizes and durations, never call arguments or replies):
 * - `libvirt-rpc:call:start`  `{ connectionId, program, procedure, serial, requestBytes }`
 * - `libvirt-rpc:call:end`    the same plus `durationMs`, `replyBytes`
 * - `libvirt-rpc:call:error`  the same plus `durationMs`, `error`
 */
import * as diagnostics from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import { setCallTracer, setDebugLog, type CallEndTrace, type CallErrorTrace, type CallTrace, type CallTracer } from './protocol/observe.js';

/** The channel names, for `diagnostics_channel.subscribe(...)`. */
export const CHANNELS = {
  callStart: 'libvirt-rpc:call:start',
  callEnd: 'libvirt-rpc:call:end',
  callError: 'libvirt-rpc:call:error',
} as const;

const start = diagnostics.channel(CHANNELS.callStart);
const end = diagnostics.channel(CHANNELS.callEnd);
const error = diagnostics.channel(CHANNELS.callError);

const tracer: CallTracer = {
  get enabled() {
    return start.hasSubscribers || end.hasSubscribers || error.hasSubscribers;
  },
  start(t: CallTrace) {
    if (start.hasSubscribers) start.publish(t);
  },
  end(t: CallEndTrace) {
    if (end.hasSubscribers) end.publish(t);
  },
  error(t: CallErrorTrace) {
    if (error.hasSubscribers) error.publish(t);
  },
};

setCallTracer(tracer);

const log = debuglog('libvirt-rpc');
if (log.enabled) setDebugLog((message) => log('%s', message));

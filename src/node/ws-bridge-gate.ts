/**
 * The bridge reads the client's bytes as libvirt frames on their way to the daemon, with the engine's
 * FrameDecoder, for two reasons:
 *
 * - Each frame is written to the daemon on its own. A WebSocket client may join frames in one message
 *   (libvirt-rpc's does, for pipelined calls), and over TLS one write is one record: libvirtd (seen with 9.0.0)
 *   reads one message of a record and leaves the rest in GnuTLS's buffer, unseen by poll(), until other traffic
 *   wakes it (see src/transport/tls.ts). Bytes that are not frames never reach the daemon.
 * - `--readonly`: a CONNECT_OPEN without VIR_CONNECT_RO is refused before the daemon sees it. libvirtd opens the
 *   connection with the flags the client sends (remoteDispatchConnectOpen in src/remote/remote_daemon_dispatch.c)
 *   and only its `-ro` socket forces read-only whatever the client asks, so the check has to be here.
 */
import { connectOpen, remote_program_id } from '../../generated/remote-procedures.js';
import { VIR_CONNECT_RO } from '../../generated/libvirt-headers.js';
import { ProtocolError } from '../errors.js';
import { type Frame, FrameDecoder, MessageType, MIN_FRAME } from '../protocol/frame.js';
import { BRIDGE_CLOSE } from '../protocol/websocket-transport.js';
import { xdrDecode } from '../protocol/xdr.js';
import type { Refusal } from './ws-bridge-security.js';

/** A refusal raised while reading the client's frames. */
export class GateRefusal extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.reason);
  }
}

/**
 * Splits the client-to-daemon byte stream into whole frames, however it is cut into messages, and checks
 * them. `push` hands each whole frame to `emit` and throws {@link GateRefusal} for bytes that are not libvirt
 * frames and, when read-only, for a read-write or undecodable CONNECT_OPEN.
 */
export class ClientFrameGate {
  readonly #readOnly: boolean;
  readonly #decoder = new FrameDecoder((f) => this.#frame(f));
  #emit: ((frame: Uint8Array) => void) | null = null;
  /** Read-only: whether an allowed (read-only) CONNECT_OPEN has been seen. */
  opened = false;

  constructor(readOnly: boolean) {
    this.#readOnly = readOnly;
  }

  push(chunk: Uint8Array, emit: (frame: Uint8Array) => void): void {
    this.#emit = emit;
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      if (e instanceof GateRefusal) throw e;
      // A framing error: whatever follows cannot be checked, so nothing more is forwarded.
      const why = e instanceof ProtocolError ? e.message : 'undecodable data';
      throw new GateRefusal({ code: BRIDGE_CLOSE.FORBIDDEN, reason: `not libvirt RPC: ${why}`.slice(0, 120) });
    } finally {
      this.#emit = null;
    }
  }

  #frame(f: Frame): void {
    if (this.#readOnly) this.#check(f);
    this.#emit?.(wholeFrame(f));
  }

  #check(f: Frame): void {
    const h = f.header;
    // CALL and CALL_WITH_FDS are both dispatched by the daemon (virNetServerProgramDispatch).
    const isCall = h.type === MessageType.VIR_NET_CALL || h.type === MessageType.VIR_NET_CALL_WITH_FDS;
    if (h.prog !== remote_program_id.program || h.proc !== connectOpen.number || !isCall) return;
    let flags: number;
    try {
      flags = xdrDecode(connectOpen.args!, f.payload).flags;
    } catch {
      throw new GateRefusal({ code: BRIDGE_CLOSE.FORBIDDEN, reason: 'read-only bridge: undecodable CONNECT_OPEN' });
    }
    if ((flags & VIR_CONNECT_RO) === 0) {
      throw new GateRefusal({ code: BRIDGE_CLOSE.FORBIDDEN, reason: 'read-only bridge: open the connection read-only (VIR_CONNECT_RO)' });
    }
    this.opened = true;
  }
}

/**
 * The bytes of the whole frame (length word, header, payload). FrameDecoder hands out the payload as a view of
 * the frame's bytes just after the header; this widens the view and checks the length word, so that a change
 * in the decoder shows here instead of forwarding wrong bytes.
 */
function wholeFrame(f: Frame): Uint8Array {
  const p = f.payload;
  const whole = new Uint8Array(p.buffer, p.byteOffset - MIN_FRAME, p.byteLength + MIN_FRAME);
  const len = new DataView(whole.buffer, whole.byteOffset, 4).getUint32(0);
  if (p.byteOffset < MIN_FRAME || len !== whole.length) throw new ProtocolError('frame bytes are not where the frame decoder put them');
  return whole;
}

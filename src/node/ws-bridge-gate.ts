/**
 * `ws-bridge --readonly`: the bridge reads the client's frames on their way to the daemon and refuses a
 * CONNECT_OPEN that lacks VIR_CONNECT_RO, before the daemon sees it. libvirtd opens the connection with the
 * flags the client sends (remoteDispatchConnectOpen in src/remote/remote_daemon_dispatch.c) and only a
 * connection on its `-ro` socket is read-only whatever the client asks, so the check has to be here.
 */
import { connectOpen, remote_program_id } from '../../generated/remote-procedures.js';
import { VIR_CONNECT_RO } from '../../generated/libvirt-headers.js';
import { ProtocolError } from '../errors.js';
import { type Frame, FrameDecoder, MessageType } from '../protocol/frame.js';
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
 * Watches the client-to-daemon byte stream, however it is cut into messages. `push` throws {@link GateRefusal}
 * for a read-write CONNECT_OPEN, an undecodable one, or bytes that are not libvirt frames.
 */
export class ReadOnlyGate {
  readonly #decoder = new FrameDecoder((f) => this.#check(f));
  /** Whether an allowed (read-only) CONNECT_OPEN has been seen. */
  opened = false;

  push(chunk: Uint8Array): void {
    try {
      this.#decoder.push(chunk);
    } catch (e) {
      if (e instanceof GateRefusal) throw e;
      // A framing error: whatever follows cannot be checked, so nothing more is forwarded.
      const why = e instanceof ProtocolError ? e.message : 'undecodable data';
      throw new GateRefusal({ code: BRIDGE_CLOSE.FORBIDDEN, reason: `not libvirt RPC: ${why}`.slice(0, 120) });
    }
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

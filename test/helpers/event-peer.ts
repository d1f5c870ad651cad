/**
 * A scripted libvirtd for event tests: it plays the open sequence, keeps event registrations the way
 * libvirtd's remote dispatcher does (a callback id per *_REGISTER_ANY, refusing event ids past the ones libvirt
 * 9.0.0 knows with its "unsupported event ID" error), and lets the test send any event message.
 */
import { encodeFrame, Frame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import * as gen from '../../generated';
import { remote, virnet } from '../../generated';
import type { ProcedureInfo } from '../../src/protocol/program';
import { FakePeer, messageFrame, replyFrame } from './fake-peer';

const PROCS = [...gen.remote_program.procedures, ...gen.qemu_program.procedures];

/** Highest event id a libvirt 9.0.0 daemon knows, per register procedure (VIR_*_EVENT_ID_LAST - 1 in 9.0). */
const LAST_ID_9_0: Record<string, number> = {
  REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 26,
  REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY: 0,
  REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY: 1,
  REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY: 1,
  REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY: 1,
};

/** A registration the fake daemon holds. */
export interface FakeRegistration {
  proc: string;
  callbackID: number;
  args: Record<string, unknown>;
}

export class EventPeer extends FakePeer {
  /** Live registrations by callback id. */
  readonly registrations = new Map<number, FakeRegistration>();
  /** Every call's procedure name, in order. */
  readonly calls: string[] = [];
  #nextId = 1;
  /** Calls not answered (the test answers or drops them). */
  hold: ((name: string) => boolean) | null = null;
  readonly held: Frame[] = [];

  constructor() {
    super();
    this.autoReply((f) => this.answer(f));
  }

  /** The daemon's answer to a call (also used for held calls). */
  answer(f: Frame): Uint8Array | null {
    const proc = PROCS.find((p) => p.program.program === f.header.prog && p.number === f.header.proc)!;
    this.calls.push(proc.name);
    if (this.hold?.(proc.name)) {
      this.held.push(f);
      return null;
    }
    const args = (proc.args ? xdrDecode(proc.args, f.payload) : {}) as Record<string, unknown>;
    switch (proc.name) {
      case 'REMOTE_PROC_AUTH_LIST': return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [0] });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE': return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 0 });
      case 'REMOTE_PROC_CONNECT_GET_LIB_VERSION': return replyFrame(f.header, remote.xdr_remote_connect_get_lib_version_ret, { lib_ver: 9000000n });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE':
      case 'REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK':
        return replyFrame(f.header, null);
    }
    if (/_REGISTER(_ANY)?$/.test(proc.name) && proc.ret) {
      const last = LAST_ID_9_0[proc.name];
      const id = args.eventID as number | undefined;
      if (last !== undefined && id !== undefined && id > last) {
        const what = proc.name.includes('NETWORK') ? 'network event' : proc.name.includes('DOMAIN') ? 'event' : `${proc.name.split('_')[3].toLowerCase()} event`;
        return errorReply(f, 1, 7, `internal error: unsupported ${what} ID ${id}`);
      }
      const callbackID = this.#nextId++;
      this.registrations.set(callbackID, { proc: proc.name, callbackID, args });
      return replyFrame(f.header, proc.ret, { callbackID });
    }
    if (/_DEREGISTER(_ANY)?$/.test(proc.name)) {
      const id = args.callbackID as number;
      if (!this.registrations.delete(id)) return errorReply(f, 1, 7, `internal error: callback ${id} not registered`);
      return replyFrame(f.header, null);
    }
    if (proc.name === 'REMOTE_PROC_DOMAIN_GET_STATE') return replyFrame(f.header, remote.xdr_remote_domain_get_state_ret, { state: 1, reason: 1 });
    return errorReply(f, 1, 1, `unexpected ${proc.name}`);
  }

  /** Answers the held calls now. */
  releaseHeld(): void {
    const held = this.held.splice(0);
    const hold = this.hold;
    this.hold = null;
    for (const f of held) {
      this.calls.pop();
      const out = this.answer(f);
      if (out) this.deliver(out);
    }
    this.hold = hold;
  }

  /** The live registration for this register procedure and event id (throws when there is none or several). */
  registrationOf(proc: string, eventID?: number): FakeRegistration {
    const found = [...this.registrations.values()].filter((r) => r.proc === proc && (eventID === undefined || r.args.eventID === eventID));
    if (found.length !== 1) throw new Error(`expected one ${proc} registration for ${eventID}, found ${found.length}`);
    return found[0];
  }

  /** Sends an event message. */
  emit<M>(proc: ProcedureInfo<void, void, M>, msg: M): void {
    this.deliver(this.frameOf(proc, msg));
  }

  /** An event message frame. */
  frameOf<M>(proc: ProcedureInfo<void, void, M>, msg: M): Uint8Array {
    const program = proc.program.program === gen.qemu_program.program ? gen.qemu_program : gen.remote_program;
    return messageFrame(program, proc, xdrEncode(proc.message!, msg));
  }
}

/** An error reply, as libvirtd sends one (code, domain, message). */
export function errorReply(f: Frame, code: number, domain: number, message: string): Uint8Array {
  return encodeFrame(
    { ...f.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR },
    xdrEncode(virnet.xdr_virNetMessageError, { code, domain, message, level: 2, dom: null, str1: null, str2: null, str3: null, int1: -1, int2: -1, net: null }),
  );
}

/** A domain handle for fake events. */
export function fakeDomain(name = 'vm1', byte = 0xab, id = 3): remote.remote_nonnull_domain {
  return { name, uuid: new Uint8Array(16).fill(byte), id };
}

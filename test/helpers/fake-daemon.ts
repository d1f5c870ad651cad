/**
 * A fake libvirtd over a {@link FakePeer}: it plays the daemon's part of the open sequence (AUTH_LIST,
 * CONNECT_SUPPORTS_FEATURE, CONNECT_OPEN), so tests can open a RemoteConnection and then script the rest.
 */
import { MessageType, type Frame } from '../../src/protocol/frame';
import { remote } from '../../generated';
import * as gen from '../../generated';
import { FakePeer, replyFrame } from './fake-peer';

const R = gen.remote_program;

/** The REMOTE procedure name of a frame, e.g. `REMOTE_PROC_CONNECT_OPEN`. */
export function procName(f: Frame): string | undefined {
  return R.procedures.find((p) => p.number === f.header.proc)?.name;
}

/** What the fake daemon does beyond the open sequence. */
export interface FakeDaemonOptions {
  /** Answer CONNECT_CLOSE (default true). */
  answerClose?: boolean;
  /** Answers any other call; return null to leave it unanswered. */
  other?: (f: Frame) => Uint8Array | null;
}

/** Makes `peer` answer the open sequence with no authentication and keepalive supported. */
export function playDaemon(peer: FakePeer, opts: FakeDaemonOptions = {}): void {
  peer.autoReply((f) => {
    if (f.header.type !== MessageType.VIR_NET_CALL) return null;
    switch (procName(f)) {
      case 'REMOTE_PROC_AUTH_LIST':
        return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [remote.remote_auth_type.REMOTE_AUTH_NONE] });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE':
        return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 1 });
      case 'REMOTE_PROC_CONNECT_OPEN':
        return replyFrame(f.header, null);
      case 'REMOTE_PROC_CONNECT_CLOSE':
        return opts.answerClose === false ? null : replyFrame(f.header, null);
      default:
        return opts.other?.(f) ?? null;
    }
  });
}

/** A peer whose pipe never closes by itself: end() is recorded and ignored, only destroy() closes it. */
export class StuckPeer extends FakePeer {
  endCalls = 0;

  override end(): void {
    this.endCalls++;
    this.ended = true;
  }
}

/**
 * A scripted libvirtd that demands SASL, on the fake peer: AUTH_LIST says SASL, AUTH_SASL_INIT lists
 * `mechanisms`, and START/STEP run the server side of SCRAM (written here with node:crypto, independently of the
 * client under test) or PLAIN against `users`. Knobs make it misbehave the ways a test needs: a wrong server
 * signature, success announced too early, a stall mid-exchange, a refusal.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { encodeFrame, Frame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import { remote, virnet } from '../../generated';
import * as gen from '../../generated';
import { FakePeer, replyFrame } from './fake-peer';

const R = gen.remote_program;
export const procName = (f: Frame) => R.procedures.find((p) => p.number === f.header.proc)?.name ?? '';

/** A fake peer that says it is a confidential channel (TLS, unix) or not (plain TCP). */
export class SaslPeer extends FakePeer {
  constructor(readonly confidential: boolean) {
    super();
  }
}

/** How the fake daemon behaves. */
export interface SaslDaemonOptions {
  mechanisms: string;
  users: Record<string, string>;
  iterations?: number;
  /** Flip a bit of the server signature. */
  badSignature?: boolean;
  /** Send the server signature, but announce complete = 1 already in START's reply. */
  completeAtStart?: boolean;
  /** Say complete = 1 after the proof without sending a server-final message. */
  noServerFinal?: boolean;
  /** Send the server-final message with complete = 0, expecting one more (empty) step. */
  finalInExtraStep?: boolean;
  /** SASL_INIT fails, as when Cyrus has no mechanism for the channel. */
  initFails?: boolean;
  /** Never answer this procedure (the daemon stalls). */
  stallAt?: 'REMOTE_PROC_AUTH_SASL_START' | 'REMOTE_PROC_AUTH_SASL_STEP' | 'REMOTE_PROC_AUTH_SASL_INIT';
}

/** What the fake daemon saw. */
export interface SaslDaemonLog {
  calls: string[];
  mechanism?: string;
  /** Bytes of every START/STEP data the client sent. */
  clientData: Uint8Array[];
  authenticatedAs?: string;
}

function errorFrame(f: Frame, code: number, message: string): Uint8Array {
  return encodeFrame(
    { ...f.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR },
    xdrEncode(virnet.xdr_virNetMessageError, { code, domain: 7, message, level: 2, dom: null, str1: null, str2: null, str3: null, int1: -1, int2: -1, net: null }),
  );
}

const VIR_ERR_AUTH_FAILED = 45;
const wire = (b: Uint8Array) => Array.from(b, (x) => (x << 24) >> 24);
const bytes = (d: number[]) => Buffer.from(Uint8Array.from(d, (n) => n & 0xff));

/** Installs the fake daemon on `peer`. */
export function saslDaemon(peer: FakePeer, o: SaslDaemonOptions): SaslDaemonLog {
  const log: SaslDaemonLog = { calls: [], clientData: [] };
  let authenticated = false;
  let scram: { hash: 'sha256' | 'sha1'; user: string; bare: string; serverFirst: string; nonce: string; salt: Buffer } | null = null;
  const fail = (f: Frame) => errorFrame(f, VIR_ERR_AUTH_FAILED, 'authentication failed: authentication failed');
  // libvirtd refuses every other call until the client has authenticated.
  const required = (f: Frame) => errorFrame(f, VIR_ERR_AUTH_FAILED, 'authentication failed: authentication required');
  peer.autoReply((f) => {
    const name = procName(f);
    log.calls.push(name);
    if (name === o.stallAt) return null;
    switch (name) {
      case 'REMOTE_PROC_AUTH_LIST':
        return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [remote.remote_auth_type.REMOTE_AUTH_SASL] });
      case 'REMOTE_PROC_AUTH_SASL_INIT':
        if (o.initFails) return fail(f);
        return replyFrame(f.header, remote.xdr_remote_auth_sasl_init_ret, { mechlist: o.mechanisms });
      case 'REMOTE_PROC_AUTH_SASL_START': {
        const args = xdrDecode(remote.xdr_remote_auth_sasl_start_args, f.payload);
        const data = bytes(args.data);
        log.mechanism = args.mech;
        log.clientData.push(data);
        if (args.mech === 'PLAIN') {
          const [, user, password] = data.toString('utf8').split('\0');
          if (o.users[user] !== password) return fail(f);
          log.authenticatedAs = user;
          authenticated = true;
          return replyFrame(f.header, remote.xdr_remote_auth_sasl_start_ret, { complete: 1, nil: 1, data: [] });
        }
        const m = /^n,,n=([^,]*),r=(.*)$/.exec(data.toString('utf8'));
        if (!m || !(m[1] in o.users)) return fail(f);
        const nonce = m[2] + randomBytes(12).toString('base64');
        const salt = randomBytes(16);
        const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${o.iterations ?? 4096}`;
        scram = { hash: args.mech === 'SCRAM-SHA-1' ? 'sha1' : 'sha256', user: m[1], bare: data.toString('utf8').slice(3), serverFirst, nonce, salt };
        return replyFrame(f.header, remote.xdr_remote_auth_sasl_start_ret, { complete: o.completeAtStart ? 1 : 0, nil: 0, data: wire(Buffer.from(serverFirst)) });
      }
      case 'REMOTE_PROC_AUTH_SASL_STEP': {
        const args = xdrDecode(remote.xdr_remote_auth_sasl_step_args, f.payload);
        const data = bytes(args.data);
        log.clientData.push(data);
        if (scram === null) return replyFrame(f.header, remote.xdr_remote_auth_sasl_step_ret, { complete: 1, nil: 1, data: [] });
        const s = scram;
        scram = null;
        const m = /^(c=biws,r=([^,]*)),p=(.*)$/.exec(data.toString('utf8'));
        if (!m || m[2] !== s.nonce) return fail(f);
        const salted = pbkdf2Sync(o.users[s.user], s.salt, o.iterations ?? 4096, s.hash === 'sha1' ? 20 : 32, s.hash);
        const authMessage = `${s.bare},${s.serverFirst},${m[1]}`;
        const clientKey = createHmac(s.hash, salted).update('Client Key').digest();
        const storedKey = createHash(s.hash).update(clientKey).digest();
        const signature = createHmac(s.hash, storedKey).update(authMessage).digest();
        const proof = Buffer.from(m[3], 'base64');
        const recovered = Buffer.from(proof.map((b, i) => b ^ signature[i]));
        if (!createHash(s.hash).update(recovered).digest().equals(storedKey)) return fail(f);
        log.authenticatedAs = s.user;
        authenticated = true;
        const serverSig = createHmac(s.hash, createHmac(s.hash, salted).update('Server Key').digest()).update(authMessage).digest();
        if (o.badSignature) serverSig[0] ^= 1;
        if (o.noServerFinal) return replyFrame(f.header, remote.xdr_remote_auth_sasl_step_ret, { complete: 1, nil: 1, data: [] });
        scram = o.finalInExtraStep ? null : scram;
        return replyFrame(f.header, remote.xdr_remote_auth_sasl_step_ret, {
          complete: o.finalInExtraStep ? 0 : 1, nil: 0, data: wire(Buffer.from(`v=${serverSig.toString('base64')}`)),
        });
      }
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE':
        if (!authenticated) return required(f);
        return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 0 });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE':
        return authenticated ? replyFrame(f.header, null) : required(f);
      default:
        return null;
    }
  });
  return log;
}

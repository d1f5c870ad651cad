/**
 * The SASL exchange of libvirt's remote protocol, as remoteAuthSASL (src/remote/remote_driver.c) drives it
 * and remoteDispatchAuthSasl{Init,Start,Step} (src/remote/remote_daemon_dispatch.c) answer it:
 *
 *   AUTH_SASL_INIT                      -> the daemon's mechanism list (comma-separated)
 *   AUTH_SASL_START(mech, initial data) -> { complete, data }
 *   AUTH_SASL_STEP(data)                -> { complete, data }   (until complete)
 *
 * Each `data` travels with a `nil` flag: SASL tells "no data" (nil = 1) from "empty data" (nil = 0, length 0).
 * The daemon answers every failure, wrong password or unknown user alike, with VIR_ERR_AUTH_FAILED
 * "authentication failed", and keeps the connection open.
 */
import { RemoteError } from '../../errors.js';
import { authSaslInit, authSaslStart, authSaslStep } from '../../../generated/remote-procedures.js';
import type { remote_auth_sasl_init_ret } from '../../../generated/remote-protocol.js';
import { debug } from '../observe.js';
import type { CallOptions } from '../program.js';
import type { RpcClient } from '../rpc-client.js';
import { saslCredentials, type SaslConnectOptions, type SaslCredentials } from './credentials.js';
import { SaslError } from './errors.js';
import { chooseMechanism, parseMechlist, type SaslMechanism } from './mechanisms.js';
import { isPrintableAscii, saslprep, SaslprepError } from './saslprep.js';
import { ScramClient } from './scram.js';

/** Server messages a SCRAM exchange may take (START, STEP, and one empty STEP when the final data came early). */
const MAX_STEPS = 3;

/** What the exchange needs besides the RPC engine. */
export interface SaslExchangeOptions extends SaslConnectOptions {
  /** `MECH` of `auth=sasl.MECH`, or undefined for the strongest offered. */
  mechanism?: string;
  /** Whether the channel already keeps the exchange secret (TLS, unix socket, SSH): see Transport.confidential. */
  confidential: boolean;
  /** AUTH_SASL_INIT when it was already sent (behind AUTH_LIST, see auth.ts startAuth). */
  init?: Promise<remote_auth_sasl_init_ret>;
}

/**
 * libvirt's remote_protocol.x declares the SASL data as `char data<REMOTE_AUTH_SASL_DATA_MAX>`, which XDR sends
 * as one signed 32-bit integer per byte (rpcgen's xdr_char); the generated codec takes numbers -128..127.
 */
function toWire(bytes: Uint8Array): number[] {
  return Array.from(bytes, (b) => (b << 24) >> 24);
}

function fromWire(data: number[]): Uint8Array {
  return Uint8Array.from(data, (n) => n & 0xff);
}

/** Runs the whole SASL exchange; resolves when the daemon has accepted us, rejects with SaslError. */
export async function authenticateSasl(rpc: RpcClient, options: SaslExchangeOptions, opts: CallOptions): Promise<void> {
  const id = rpc.id;
  // auth.conf is read while SASL_INIT is under way (only now that the daemon wants SASL, as libvirt reads it).
  const config = options.authConfig?.() ?? Promise.resolve(null);
  config.catch(() => undefined); // reported where it is awaited, if it is
  let offered: string[];
  let mechanism: SaslMechanism;
  try {
    offered = await mechanismList(rpc, options, opts);
    mechanism = chooseMechanism(offered, options.mechanism, options.confidential);
  } catch (err) {
    void config.then((c) => c?.dispose(), () => undefined); // its secrets are not needed after all
    throw err;
  }
  debug(() => `connection ${id}: SASL: the daemon offers ${offered.join(', ')}; using ${mechanism}`);
  const creds = await saslCredentials({ ...options, authConfig: () => config }, mechanism, opts.signal);
  debug(() => `connection ${id}: SASL: user name '${creds.authname}' from ${creds.sources.authname}, password from ${creds.sources.password}`);
  const prep = { changed: false };
  try {
    if (mechanism === 'PLAIN') await plain(rpc, creds, opts);
    else await scram(rpc, mechanism, creds, opts, prep);
  } catch (err) {
    if (err instanceof RemoteError && err.remote.codeName === 'VIR_ERR_AUTH_FAILED') {
      // Cyrus SASL (libvirt's) applies no SASLprep: a daemon whose sasldb holds the unprepared password refuses the
      // prepared one. Said only when preparing changed the password, without saying how.
      const hint = prep.changed
        ? '; SASLprep (RFC 4013) changed this password, and Cyrus SASL, which libvirt uses, does not apply it, so the daemon may expect it unchanged (PLAIN over TLS sends it as given)'
        : '';
      throw new SaslError(
        'ERR_SASL_REJECTED',
        `the daemon refused the SASL credentials of '${creds.authname}' (${mechanism}): ${err.remote.message ?? 'authentication failed'} (a wrong password or an unknown user: libvirt does not say which)${hint}`,
        { mechanism, offered, cause: err },
      );
    }
    throw err;
  } finally {
    creds.dispose();
  }
  debug(() => `connection ${id}: SASL: authenticated as '${creds.authname}' with ${mechanism}`);
}

/** SASL_INIT: the daemon's mechanisms. */
async function mechanismList(rpc: RpcClient, options: SaslExchangeOptions, opts: CallOptions): Promise<string[]> {
  try {
    return parseMechlist((await (options.init ?? rpc.call(authSaslInit, undefined, opts))).mechlist);
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    // The daemon's Cyrus SASL found no mechanism for this client: on plain TCP that is the SSF demand.
    if (!options.confidential) chooseMechanism([], options.mechanism, false);
    throw new SaslError('ERR_SASL_NO_MECHANISM', `the daemon could not start SASL (AUTH_SASL_INIT: ${err.remote.message ?? err.remote.codeName}): its SASL configuration offers no mechanism for this channel`, { cause: err });
  }
}

/** PLAIN (RFC 4616): one message, `authzid NUL authcid NUL password`, with no authorization identity. */
async function plain(rpc: RpcClient, creds: SaslCredentials, opts: CallOptions): Promise<void> {
  const name = new TextEncoder().encode(creds.authname);
  const message = new Uint8Array(2 + name.length + creds.password.length);
  message.set(name, 1);
  message.set(creds.password, 2 + name.length);
  const data = toWire(message);
  message.fill(0);
  try {
    const ret = await rpc.call(authSaslStart, { mech: 'PLAIN', nil: 0, data }, opts);
    if (ret.complete !== 1) {
      throw new SaslError('ERR_SASL_PROTOCOL', 'PLAIN: the daemon asked for more after the only message PLAIN has', { mechanism: 'PLAIN' });
    }
  } finally {
    data.fill(0);
  }
}

/** Prepares a password with SASLprep; printable ASCII is left alone without ever becoming a string. */
function preparePassword(password: Uint8Array, mechanism: string, prep: { changed: boolean }): Uint8Array {
  if (isPrintableAscii(password)) return password.slice();
  try {
    const given = new TextDecoder('utf-8', { fatal: true }).decode(password);
    const prepared = saslprep(given);
    prep.changed = prepared !== given;
    return new TextEncoder().encode(prepared);
  } catch (err) {
    const why = err instanceof SaslprepError ? err.message : 'it is not valid UTF-8';
    throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', `${mechanism}: the password cannot be prepared with SASLprep (RFC 4013): ${why}`, { mechanism });
  }
}

function prepareName(name: string, mechanism: string): string {
  try {
    return saslprep(name);
  } catch (err) {
    throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', `${mechanism}: the user name '${name}' cannot be prepared with SASLprep (RFC 4013): ${(err as Error).message}`, { mechanism });
  }
}

async function scram(rpc: RpcClient, mechanism: Exclude<SaslMechanism, 'PLAIN'>, creds: SaslCredentials, opts: CallOptions, prep: { changed: boolean }): Promise<void> {
  const client = new ScramClient(mechanism, prepareName(creds.authname, mechanism), preparePassword(creds.password, mechanism, prep));
  const protocol = (what: string) => new SaslError('ERR_SASL_PROTOCOL', `${mechanism}: ${what}`, { mechanism });
  try {
    const first = await rpc.call(authSaslStart, { mech: mechanism, nil: 0, data: toWire(client.clientFirst()) }, opts);
    // A daemon that says "complete" before seeing a proof has not checked the password, nor proven it knows it.
    if (first.complete === 1) {
      throw new SaslError('ERR_SASL_SERVER_SIGNATURE', `${mechanism}: the daemon declared success before the client sent its proof, so it has not shown that it knows the password; the connection is refused`, { mechanism });
    }
    if (first.nil !== 0) throw protocol('the daemon sent no server-first message');
    const final = await client.clientFinal(fromWire(first.data));
    debug(() => `connection ${rpc.id}: SASL: ${mechanism} with ${client.iterations} iterations; proof sent, checking the server's signature`);
    const data = toWire(final);
    let reply = await rpc.call(authSaslStep, { nil: 0, data }, opts);
    data.fill(0);
    // libvirt's daemon asks Cyrus for SASL_SUCCESS_DATA, so the server-final message comes with complete = 1.
    // A server that keeps it for one more round trip gets an empty step, as Cyrus's client would send.
    client.verifyServerFinal(reply.nil === 0 ? fromWire(reply.data) : null);
    for (let step = 2; reply.complete !== 1; step++) {
      if (step >= MAX_STEPS) throw protocol(`the daemon did not finish after ${MAX_STEPS} steps`);
      reply = await rpc.call(authSaslStep, { nil: 0, data: [] }, opts);
    }
  } finally {
    client.dispose();
  }
}

/**
 * Authentication in the open sequence, as libvirt's remote driver does it (remoteAuthenticate in
 * src/remote/remote_driver.c): the daemon lists the types it accepts (AUTH_LIST); the client uses the one the
 * URI's `auth` parameter asks for (`sasl`, `sasl.MECH`, `polkit`, case-insensitive), else the first offered.
 */
import { AuthError } from '../errors.js';
import { remote_auth_type as AUTH } from '../../generated/remote-protocol.js';
import { authPolkit, authSaslInit } from '../../generated/remote-procedures.js';
import type { remote_auth_sasl_init_ret } from '../../generated/remote-protocol.js';
import type { ConnectionOptions } from './connection.js';
import { debug } from './observe.js';
import type { CallOptions } from './program.js';
import type { RpcClient } from './rpc-client.js';
import { authenticateSasl } from './sasl/sasl-auth.js';

const AUTH_NAMES: Record<number, string> = { [AUTH.REMOTE_AUTH_NONE]: 'none', [AUTH.REMOTE_AUTH_SASL]: 'sasl', [AUTH.REMOTE_AUTH_POLKIT]: 'polkit' };

/** `none`, `sasl`, `polkit`, or the number of a type this client does not know. */
export function authName(type: number): string {
  return AUTH_NAMES[type] ?? String(type);
}

/** remoteAuthenticate does nothing when the daemon offers no types or offers `none` first. */
export function needsAuth(offered: readonly number[]): boolean {
  return offered.length > 0 && offered[0] !== AUTH.REMOTE_AUTH_NONE;
}

/**
 * Splits an `auth` value as remoteAuthenticate does: `sasl` or `sasl.MECH` (the prefix compared
 * case-insensitively, MECH kept as written), `polkit`, and this library's `none`. Throws AuthError otherwise.
 */
export function parseAuthType(value: string): { type: number; mechanism?: string } {
  const lower = value.toLowerCase();
  if (lower === 'sasl') return { type: AUTH.REMOTE_AUTH_SASL };
  if (lower.startsWith('sasl.')) {
    const mechanism = value.slice(5);
    if (mechanism === '') throw new AuthError(`auth=${value}: no SASL mechanism after 'sasl.'`);
    return { type: AUTH.REMOTE_AUTH_SASL, mechanism };
  }
  if (lower === 'polkit') return { type: AUTH.REMOTE_AUTH_POLKIT };
  if (lower === 'none') return { type: AUTH.REMOTE_AUTH_NONE };
  throw new AuthError(`unknown authentication type '${value}' (expected sasl, sasl.MECHANISM or polkit)`);
}

/** What authenticate needs to know of the channel: whether it is already confidential (see Transport). */
export interface AuthChannel {
  readonly confidential?: boolean;
}

/** Calls sent ahead of AUTH_LIST's answer (see {@link startAuth}). */
export interface EarlyAuth {
  saslInit?: Promise<remote_auth_sasl_init_ret>;
}

/**
 * When the `auth` option asks for SASL, sends AUTH_SASL_INIT right behind AUTH_LIST instead of after its answer:
 * one round trip less. (A daemon that does not use SASL answers it with an error, which is then ignored; the
 * open fails anyway, as SASL was asked for.) Nothing is sent otherwise.
 */
export function startAuth(rpc: RpcClient, options: ConnectionOptions, opts: CallOptions): EarlyAuth {
  let wanted: { type: number } | null = null;
  try {
    wanted = options.auth ? parseAuthType(options.auth) : null;
  } catch {
    return {}; // authenticate() reports it
  }
  if (wanted?.type !== AUTH.REMOTE_AUTH_SASL) return {};
  const saslInit = rpc.call(authSaslInit, undefined, opts);
  saslInit.catch(() => undefined);
  return { saslInit };
}

/** Authenticates with the type chosen from `offered`; resolves when the daemon accepts, rejects with AuthError. */
export async function authenticate(rpc: RpcClient, offered: readonly number[], options: ConnectionOptions, opts: CallOptions, channel: AuthChannel = {}, early: EarlyAuth = {}): Promise<void> {
  // remoteAuthenticate: no list or an empty one means no authentication; otherwise the wanted type if the
  // daemon offers it, else the first one offered.
  if (offered.length === 0) return;
  let type = offered[0];
  let mechanism: string | undefined;
  if (options.auth) {
    const wanted = parseAuthType(options.auth);
    if (!offered.includes(wanted.type)) {
      throw new AuthError(`the daemon does not offer ${authName(wanted.type)} authentication (auth=${options.auth}); it offers ${offered.map(authName).join(', ')}`);
    }
    type = wanted.type;
    mechanism = wanted.mechanism;
  }
  debug(() => `connection ${rpc.id}: authenticating with ${authName(type)}`);
  switch (type) {
    case AUTH.REMOTE_AUTH_NONE:
      return;
    case AUTH.REMOTE_AUTH_POLKIT:
      await rpc.call(authPolkit, undefined, opts);
      return;
    case AUTH.REMOTE_AUTH_SASL:
      await authenticateSasl(rpc, { ...options, mechanism, confidential: channel.confidential === true, init: early.saslInit }, opts);
      return;
    default:
      throw new AuthError(`the daemon requires an unknown authentication type ${type}`);
  }
}

/**
 * Authentication in the open sequence, as libvirt's remote driver does it (remoteAuthenticate in
 * src/remote/remote_driver.c): the daemon lists the types it accepts (AUTH_LIST); the client uses the one the
 * URI asks for, else the first offered.
 */
import { AuthError } from '../errors.js';
import { remote_auth_type as AUTH } from '../../generated/remote-protocol.js';
import { authPolkit } from '../../generated/remote-procedures.js';
import type { ConnectionOptions } from './connection.js';
import { debug } from './observe.js';
import type { CallOptions } from './program.js';
import type { RpcClient } from './rpc-client.js';

const AUTH_NAMES: Record<number, string> = { [AUTH.REMOTE_AUTH_NONE]: 'none', [AUTH.REMOTE_AUTH_SASL]: 'sasl', [AUTH.REMOTE_AUTH_POLKIT]: 'polkit' };

/** `none`, `sasl`, `polkit`, or the number of a type this client does not know. */
export function authName(type: number): string {
  return AUTH_NAMES[type] ?? String(type);
}

/** remoteAuthenticate does nothing when the daemon offers no types or offers `none` first. */
export function needsAuth(offered: readonly number[]): boolean {
  return offered.length > 0 && offered[0] !== AUTH.REMOTE_AUTH_NONE;
}

/** Authenticates with the type chosen from `offered`; resolves when the daemon accepts, rejects with AuthError. */
export async function authenticate(rpc: RpcClient, offered: readonly number[], options: ConnectionOptions, opts: CallOptions): Promise<void> {
  // remoteAuthenticate: no list or an empty one means no authentication; otherwise the wanted type if the
  // daemon offers it, else the first one offered.
  if (offered.length === 0) return;
  let type = offered[0];
  const wanted = options.auth;
  if (wanted) {
    const want = Object.entries(AUTH_NAMES).find(([, n]) => n === wanted)?.[0];
    if (want === undefined || !offered.includes(Number(want))) {
      throw new AuthError(`the daemon does not offer ${wanted} authentication (it offers ${offered.map(authName).join(', ')})`);
    }
    type = Number(want);
  }
  debug(() => `connection ${rpc.id}: authenticating with ${authName(type)}`);
  switch (type) {
    case AUTH.REMOTE_AUTH_NONE:
      return;
    case AUTH.REMOTE_AUTH_POLKIT:
      await rpc.call(authPolkit, undefined, opts);
      return;
    case AUTH.REMOTE_AUTH_SASL:
      throw new AuthError('the daemon requires SASL authentication, which is not supported yet');
    default:
      throw new AuthError(`the daemon requires an unknown authentication type ${type}`);
  }
}

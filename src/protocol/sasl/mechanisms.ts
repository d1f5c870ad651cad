/**
 * Which SASL mechanism to use: the strongest one the daemon offers that this client implements and that is
 * safe on the channel, or the one `auth=sasl.MECH` names.
 */
import { SaslError } from './errors.js';

/** The mechanisms this client implements, strongest first. */
export const SASL_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'] as const;

/** A mechanism this client implements. */
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * The daemon's SASL_INIT list, split. libvirt's daemon joins Cyrus's list with commas
 * (virNetSASLSessionListMechanisms in src/rpc/virnetsaslcontext.c); Cyrus itself also separates with spaces.
 */
export function parseMechlist(list: string): string[] {
  return list.split(/[\s,]+/).filter((m) => m !== '');
}

/**
 * Chooses the mechanism, or throws {@link SaslError}:
 * - on a channel that is not confidential (plain TCP) every mechanism is refused: libvirt's daemon and client
 *   demand a SASL security layer of at least 56 bits there (remoteSASLFinish in remote_daemon_dispatch.c,
 *   remoteAuthSASL in remote_driver.c), which only DIGEST-MD5 and GSSAPI negotiate, and PLAIN would send the
 *   password in clear (`ERR_SASL_INSECURE_CHANNEL`);
 * - `wanted` (from `auth=sasl.MECH`) must be offered (`ERR_SASL_MECHANISM_NOT_OFFERED`) and implemented
 *   (`ERR_SASL_MECHANISM_UNSUPPORTED`); names compare exactly, as SASL mechanism names are upper case;
 * - otherwise the first of {@link SASL_MECHANISMS} that is offered (`ERR_SASL_NO_MECHANISM` when none is).
 */
export function chooseMechanism(offered: readonly string[], wanted: string | undefined, confidential: boolean): SaslMechanism {
  const list = offered.length ? offered.join(', ') : 'none';
  const ours = SASL_MECHANISMS.join(', ');
  if (!confidential) {
    throw new SaslError(
      'ERR_SASL_INSECURE_CHANNEL',
      `the channel to the daemon is not encrypted (plain TCP), and there libvirt requires a SASL security layer of at least 56 bits (SSF), which only DIGEST-MD5 or GSSAPI negotiate; libvirt-rpc implements ${ours}, which negotiate none (PLAIN would even send the password in clear). The daemon offers: ${list}. Connect over TLS (qemu+tls://host/...) or SSH (qemu+ssh://host/...) instead`,
      { offered, mechanism: wanted },
    );
  }
  if (wanted !== undefined) {
    if (!offered.includes(wanted)) {
      const near = offered.find((m) => m.toUpperCase() === wanted.toUpperCase());
      throw new SaslError(
        'ERR_SASL_MECHANISM_NOT_OFFERED',
        `the daemon does not offer the SASL mechanism ${wanted} (auth=sasl.${wanted}); it offers: ${list}${near ? ` (mechanism names are upper case: ${near})` : ''}`,
        { offered, mechanism: wanted },
      );
    }
    if (!(SASL_MECHANISMS as readonly string[]).includes(wanted)) {
      throw new SaslError('ERR_SASL_MECHANISM_UNSUPPORTED', `libvirt-rpc does not implement the SASL mechanism ${wanted}; it implements ${ours} (the daemon offers: ${list})`, { offered, mechanism: wanted });
    }
    return wanted as SaslMechanism;
  }
  const chosen = SASL_MECHANISMS.find((m) => offered.includes(m));
  if (chosen === undefined) {
    throw new SaslError('ERR_SASL_NO_MECHANISM', `the daemon offers no SASL mechanism libvirt-rpc implements: it offers ${list}; libvirt-rpc implements ${ours}`, { offered });
  }
  return chosen;
}

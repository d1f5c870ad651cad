/** Turns libvirt's `remote_error` (virNetMessageError) into a {@link RemoteError} with symbolic names. */
import { RemoteError, RemoteErrorInfo, UnsupportedProcedureError } from '../errors.js';
import * as headers from '../../generated/libvirt-headers.js';
import * as virnet from '../../generated/virnet-protocol.js';
import { XdrReader, xdrWithin } from './xdr.js';

/** `VIR_ERR_NO_DOMAIN` for 42; `VIR_ERR_<n>` for a code this release does not know. */
export function errorNumberName(code: number): string {
  return headers.virErrorNumberNames[code] ?? `VIR_ERR_${code}`;
}

/** `VIR_FROM_QEMU` for 10; `VIR_FROM_<n>` for a domain this release does not know. */
export function errorDomainName(domain: number): string {
  return headers.virErrorDomainNames[domain] ?? `VIR_FROM_${domain}`;
}

/** Decodes an error reply's payload. */
export function decodeRemoteError(payload: Uint8Array): RemoteErrorInfo {
  const r = new XdrReader(payload);
  let e: virnet.virNetMessageError;
  try {
    e = virnet.dec_virNetMessageError(r);
    r.done();
  } catch (err) {
    throw xdrWithin(err, 'virNetMessageError');
  }
  return {
    code: e.code,
    codeName: errorNumberName(e.code),
    domain: e.domain,
    domainName: errorDomainName(e.domain),
    message: e.message,
    level: e.level,
    str1: e.str1,
    str2: e.str2,
    str3: e.str3,
    int1: e.int1,
    int2: e.int2,
    domainObjectName: e.dom?.name ?? null,
    networkObjectName: e.net?.name ?? null,
  };
}

/**
 * libvirtd answers a procedure it does not know with VIR_ERR_RPC and "unknown procedure: N"
 * (virNetServerProgramDispatch in src/rpc/virnetserverprogram.c; seen from libvirt 9.0.0).
 */
export function isUnknownProcedure(info: RemoteErrorInfo): boolean {
  return (info.code === headers.VIR_ERR_RPC || info.code === headers.VIR_ERR_NO_SUPPORT) && /unknown procedure/i.test(info.message ?? '');
}

/** The error a failed call rejects with. The daemon version for unknown procedures is filled in later. */
export function remoteErrorFrom(payload: Uint8Array, procedure: string): RemoteError {
  const info = decodeRemoteError(payload);
  if (isUnknownProcedure(info)) return new UnsupportedProcedureError(info, procedure, null);
  return new RemoteError(info, procedure);
}


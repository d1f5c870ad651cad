/**
 * libvirt-rpc's main entry for Node: everything of the browser-safe core (./core) plus `connect(uri)`, which
 * opens unix, TCP, TLS and SSH transports from libvirt URIs (./transport).
 */
import { Connect, setUriOpener, type ConnectOptions } from './core.js';
import { openTransport, remoteOpenName, resolveUri } from './transport/index.js';
// The Node entry carries the whole typed procedure API (conn.raw.remote.*) and publishes calls on
// diagnostics_channel; both install themselves when imported.
import './raw.js';
import './diagnostics.js';
import './node/ascii-strings.js';

export * from './core.js';
export { CHANNELS } from './diagnostics.js';
export { typedApi, remote_procedures, remote_program, qemu_procedures, qemu_program, lxc_procedures, lxc_program } from './raw.js';
export type { RemoteProcedures, RemoteMessages, QemuProcedures, QemuMessages, LxcProcedures, LxcMessages } from './raw.js';
export { openTransport, parseUri, remoteOpenName, type OpenTransportOptions, type LibvirtUri } from './transport/index.js';

// Connect.open(uri) in Node: the URI (or LIBVIRT_DEFAULT_URI) names a transport; CONNECT_OPEN sends the name
// libvirt's remote driver would send for it.
setUriOpener(async (uri, options) => {
  // This file is the Node entry (the browser-safe entry is ./core), so the process environment is the default.
  const env = options.env ?? process.env;
  const parsed = resolveUri(uri, env);
  const transport = await openTransport(parsed, {
    env,
    timeout: options.timeout,
    signal: options.signal,
    readOnly: options.readOnly,
    transport: options.transport,
  });
  // virConnectGetURI gives back the URI the client opened; with none at all, the daemon's answer (getURI asks).
  return { transport, name: remoteOpenName(parsed), uri: parsed === null ? null : parsed.input };
});

/**
 * Opens a connection to a libvirt URI, e.g. `qemu:///system`, `qemu+ssh://host/system`, `test:///default`
 * (null or empty: `LIBVIRT_DEFAULT_URI`, else the local daemon's choice). Same as `Connect.open(uri, options)`.
 */
export function connect(uri?: string | null, options?: ConnectOptions): Promise<Connect> {
  return Connect.open(uri, options);
}

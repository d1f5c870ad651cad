/**
 * Child process of test/integration/diagnostics.test.ts: walks a connection through its life so that the
 * NODE_DEBUG=libvirt-rpc log has something to say. Over SSH (when DEBUG_CHILD_SSH_URI is set) with an encrypted
 * key whose passphrase comes from the credentials callback; over unix with a short keepalive interval and a
 * pause long enough for PINGs; then an open that fails. Prints `done` on stdout.
 */
import { Connect, connect, openTransport, remoteOpenName, parseUri, TransportError } from '../../src/index';

async function main(): Promise<void> {
  const sshUri = process.env.DEBUG_CHILD_SSH_URI;
  if (sshUri) {
    const transport = await openTransport(sshUri, {
      credentials: (r) => (r.type === 'passphrase' ? process.env.DEBUG_CHILD_PASSPHRASE ?? null : null),
    });
    const conn = await Connect.openWith(transport, { name: remoteOpenName(parseUri(sshUri)) });
    await conn.getLibVersion();
    await conn.close();
  }

  const conn = await connect(process.env.DEBUG_CHILD_UNIX_URI, { keepalive: { interval: 200, count: 5 } });
  // Silence for several intervals: the client sends PINGs, the daemon answers them.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await conn.getLibVersion();
  await conn.close();

  const failed = await connect('qemu+unix:///session?socket=/nonexistent/libvirt-sock').catch((e: unknown) => e);
  if (!(failed instanceof TransportError)) throw new Error(`expected a TransportError, got ${String(failed)}`);
  process.stdout.write('done\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`debug-child: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

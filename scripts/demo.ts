/**
 * `npm start`: a demo of libvirt-rpc against the project's own sandboxed libvirtd and its real QEMU guest.
 * Starts the sandbox (installing Debian packages when run as root, else printing the command), then talks to
 * the daemon over unix and TCP with the typed low-level API.
 */
import { formatVersion } from '../src/protocol/connection';
import { startSandbox } from './sandbox/sandbox';
import { openUri } from '../test/helpers/open';

const say = (s = '') => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  say('libvirt-rpc demo: starting the sandbox daemon ...');
  const { info, started } = await startSandbox({ log: (l) => say(`  sandbox: ${l}`) });
  say(`  ${started ? 'started' : 'reusing'} libvirt ${info.libvirtVersion} in ${info.root}`);
  for (const uri of [info.unixUri, info.tcpUri]) {
    const t0 = performance.now();
    const conn = await openUri(uri);
    const opened = performance.now() - t0;
    const ver = formatVersion((await conn.remote.connectGetLibVersion()).lib_ver);
    const { hostname } = await conn.remote.connectGetHostname();
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    say();
    say(`${uri}`);
    say(`  opened in ${opened.toFixed(1)} ms; daemon libvirt ${ver} on ${hostname}; keepalive ${conn.keepaliveSupported ? 'on' : 'off'}`);
    for (const dom of domains) {
      const { state } = await conn.remote.domainGetState({ dom, flags: 0 });
      const { num } = await conn.remote.domainSnapshotNum({ dom, flags: 0 });
      say(`  domain ${dom.name} (id ${dom.id}) state ${state}, ${num} snapshot(s)`);
    }
    const n = 1000;
    const c0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => conn.remote.connectGetLibVersion()));
    say(`  ${n} concurrent calls on one connection in ${(performance.now() - c0).toFixed(1)} ms`);
    await conn.close();
  }
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});

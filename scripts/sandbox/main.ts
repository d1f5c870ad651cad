/**
 * `npm run sandbox -- start|stop [--clean]|status|env`: a private libvirtd (session mode, unprivileged) with
 * unix, TCP, TLS and SSH access and a small QEMU guest, all in one folder ($LIBVIRT_RPC_SANDBOX_DIR, or by
 * default one per checkout: see sandboxRoot in scripts/sandbox/setup.ts). See scripts/sandbox/sandbox.ts.
 */
import { isRunning } from './proc';
import { readInfo, sandboxRoot, sandboxStatus, SandboxInfo, startSandbox, stopSandbox } from './sandbox';

const USAGE = `usage: npm run sandbox -- <command>
  start          start the sandbox (or reuse the running one) and print its URIs
  stop [--clean] stop every process the sandbox started; --clean also removes its folder
  status         say what runs (exit 0 all running, 3 not running, 1 partly running)
  env            print shell export lines (eval "$(npm run -s sandbox -- env)")
The folder is ${sandboxRoot()} (set LIBVIRT_RPC_SANDBOX_DIR to use another).`;

/** Single-quotes a value for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `export` lines of `env`. */
function envLines(info: SandboxInfo): string[] {
  const vars: Record<string, string> = {
    LIBVIRT_DEFAULT_URI: info.unixUri,
    LIBVIRT_RPC_SANDBOX_DIR: info.root,
    LIBVIRT_RPC_SANDBOX_INFO: `${info.root}/info.json`,
    LIBVIRT_RPC_SANDBOX_UNIX_URI: info.unixUri,
    LIBVIRT_RPC_SANDBOX_TCP_URI: info.tcpUri,
    LIBVIRT_RPC_SANDBOX_TLS_URI: info.tls.uri,
    LIBVIRT_RPC_SANDBOX_SSH_URI: info.ssh.libvirtUri,
    LIBVIRT_RPC_SANDBOX_TEST_URI: info.testUri,
    LIBVIRT_RPC_SANDBOX_SASL_URI: info.sasl.unixUriWithAuthFile,
    LIBVIRT_RPC_SANDBOX_GUEST: info.guest.name,
  };
  return Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
}

function summary(info: SandboxInfo): string {
  return [
    `folder   ${info.root}   (user ${info.user}, uid ${info.uid}; libvirt ${info.libvirtVersion})`,
    `libvirtd pid ${info.libvirtdPid}, log ${info.logFile}`,
    `unix     ${info.unixUri}`,
    `tcp      ${info.tcpUri}`,
    `tls      ${info.tls.uri}`,
    `ssh      ${info.ssh.libvirtUri}`,
    `         (sshd pid ${info.sshdPid}; libvirt-rpc and virsh both connect with this URI as printed)`,
    `test     ${info.testUri}`,
    `sasl     ${info.sasl.unixUri}   (libvirtd pid ${info.sasl.libvirtdPid}, log ${info.sasl.logFile})`,
    `         tls ${info.sasl.tlsUri}   tcp ${info.sasl.tcpUri}   auth.conf ${info.sasl.authFile}`,
    `guest    ${info.guest.name} ${info.guest.uuid} (${info.guest.disk})`,
    `pool     ${info.pool?.name ?? '(none)'} (${info.pool?.path ?? ''})`,
    `info     ${info.root}/info.json`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const log = (line: string) => process.stderr.write(`sandbox: ${line}\n`);
  switch (cmd) {
    case 'start': {
      const t0 = Date.now();
      const { info, started } = await startSandbox({ log });
      process.stdout.write(`${summary(info)}\n`);
      log(`${started ? 'started' : 'reused'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'stop': {
      const clean = rest.includes('--clean');
      const ran = await stopSandbox({ clean, log });
      log(ran ? 'stopped' : 'no sandbox was running');
      return 0;
    }
    case 'status': {
      const s = await sandboxStatus();
      if (!s.info) {
        process.stdout.write(`not running (no info file in ${s.root})\n`);
        return 3;
      }
      const guests = Object.entries(s.guests).map(([n, p]) => `${n} (pid ${p})`).join(', ') || 'none';
      process.stdout.write([
        `folder   ${s.root}`,
        `libvirtd pid ${s.info.libvirtdPid}: ${s.libvirtd ? 'running' : 'NOT running'}; ${s.answers ? `answers (libvirt ${s.answers})` : 'does NOT answer'}`,
        `sshd     pid ${s.info.sshdPid}: ${s.sshd ? 'running' : 'NOT running'} on 127.0.0.1:${s.info.ssh.port}`,
        `sasl     libvirtd pid ${s.info.sasl?.libvirtdPid}: ${isRunning(s.info.sasl?.libvirtdPid, 'libvirtd') ? 'running' : 'NOT running'}`,
        `qemu     ${guests}`,
        `ports    tcp ${s.info.tcpPort}, tls ${s.info.tls.port}, ssh ${s.info.ssh.port}`,
        '',
      ].join('\n'));
      if (s.libvirtd && s.sshd && s.answers) return 0;
      return s.libvirtd || s.sshd || Object.keys(s.guests).length ? 1 : 3;
    }
    case 'env': {
      const info = readInfo();
      if (!info) {
        process.stderr.write(`sandbox: not running (no info file in ${sandboxRoot()}); run \`npm run sandbox -- start\`\n`);
        return 3;
      }
      process.stdout.write(`${envLines(info).join('\n')}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

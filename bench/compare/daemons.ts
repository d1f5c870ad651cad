/**
 * The daemons `npm run bench` measures against: private libvirtds started for the run (test/helpers/
 * private-daemon.ts), one with libvirt's default `max_client_requests = 5` and one with 64 (as busy hosts
 * configure it), each with an inactive QEMU domain whose XML is a few KB; and the sandbox's own daemon for
 * opening connections over unix, TCP, TLS and SSH. Another sandbox is never touched or reconfigured.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startPrivateDaemon, type PrivateDaemon } from '../../test/helpers/private-daemon';

/** A private daemon of the run. */
export interface BenchDaemon {
  /** `max_client_requests` of this daemon. */
  maxClientRequests: number;
  daemon: PrivateDaemon;
  /**
   * Stops the daemon the gentle way first (SIGTERM, up to 10 s), then removes it: a libvirtd killed outright
   * while it probes QEMU's capabilities leaves the daemonized probe process (`qemu-system-* -machine none`)
   * running for good. (PrivateDaemon.cleanup does exactly that.)
   */
  stop(): Promise<void>;
  /** `qemu+unix:///session?socket=...` */
  qemuUri: string;
  /** `test+unix:///default?socket=...` (libvirt's test driver, through this daemon) */
  testUri: string;
}

/** The name of the defined (never started) domain whose XML the `xml` rows fetch. */
export const XML_DOMAIN = 'bench-xml';

/**
 * A realistic server guest: disks, NICs, consoles, channels, graphics. libvirt adds controllers and PCI
 * addresses when it is defined; the daemon then formats about 4-5 KB of XML for it.
 */
function domainXml(dir: string): string {
  const disk = (dev: string, i: number) => `
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
      <source file='${dir}/disk${i}.qcow2'/>
      <target dev='${dev}' bus='virtio'/>
      <serial>bench-disk-${i}</serial>
    </disk>`;
  const nic = (i: number) => `
    <interface type='user'>
      <mac address='52:54:00:00:00:0${i}'/>
      <model type='virtio'/>
    </interface>`;
  return `<domain type='qemu'>
  <name>${XML_DOMAIN}</name>
  <title>libvirt-rpc benchmark guest</title>
  <description>A defined, never started guest whose XML the benchmark reads.</description>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>${['vda', 'vdb', 'vdc', 'vdd'].map(disk).join('')}${[1, 2].map(nic).join('')}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
    <memballoon model='virtio'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
  </devices>
</domain>
`;
}

function virsh(uri: string, args: string[], timeout = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh ${args.join(' ')} on ${uri} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Starts a private daemon with this `max_client_requests` and defines the XML domain in it. */
export async function startBenchDaemon(maxClientRequests: number): Promise<BenchDaemon> {
  // Nothing but the one setting differs from libvirt's defaults; no TCP, no logging to slow it down.
  const daemon = await startPrivateDaemon({ config: [`max_client_requests = ${maxClientRequests}`] });
  try {
    const qemuUri = `qemu+unix:///session?socket=${daemon.socket}`;
    const dir = path.dirname(daemon.socket);
    const file = path.join(dir, 'bench-xml.xml');
    fs.writeFileSync(file, domainXml(dir));
    // The first QEMU connection probes the emulator's capabilities: seconds on a loaded machine.
    await virsh(qemuUri, ['define', file]);
    // cleanup() stops the daemon with SIGTERM first (see its doc), so no QEMU probe is left behind.
    const stop = (): Promise<void> => daemon.cleanup();
    return { maxClientRequests, daemon, stop, qemuUri, testUri: `test+unix:///default?socket=${daemon.socket}` };
  } catch (e) {
    await daemon.cleanup();
    throw e;
  }
}

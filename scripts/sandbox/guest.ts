/**
 * Small real QEMU guests in the sandbox: a 64 MiB qcow2 disk, TCG, no network, no OS (SeaBIOS finds nothing to
 * boot and idles). Each guest has its own folder, so external snapshot overlays (which libvirt puts next to the
 * disk) go away with it. Tests that use snapshots and checkpoints each take a fresh guest: on QEMU 7.2 a revert
 * fails while checkpoint bitmaps exist (see FIELD-NOTES).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run, SandboxError } from './proc';

/** What a guest needs to know about the sandbox (a subset of SandboxInfo). */
export interface GuestHost {
  root: string;
  uid: number;
  gid: number;
  unixUri: string;
}

/** A guest made by {@link createGuest}. */
export interface GuestInfo {
  name: string;
  uuid: string;
  /** The qcow2 disk, inside `dir`. */
  disk: string;
  /** The guest's own folder; removed with the guest. */
  dir: string;
}

/** Options of {@link createGuest}. */
export interface CreateGuestOptions {
  /** Start the guest after defining it (default true). */
  start?: boolean;
  /** Guest memory in MiB (default 64). */
  memoryMiB?: number;
  /**
   * A serial console that SeaBIOS writes to (`<bios useserial='yes'/>`, which libvirt turns into QEMU's
   * `graphics=off`) and a VGA screen for screenshots.
   */
  console?: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The folder where guests' disks live. */
export function guestsDir(root: string): string {
  return path.join(root, 'guests');
}

/**
 * Domain XML of a sandbox guest: TCG (`type='qemu'`), a virtio qcow2 disk, no NIC, no graphics; with `console`,
 * a serial console SeaBIOS writes to and a VGA screen.
 */
export function guestXml(name: string, disk: string, memoryMiB = 64, console = false): string {
  const bios = console ? "<bios useserial='yes'/>" : '';
  const devices = console
    ? `
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <video><model type='vga'/></video>`
    : '';
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>${memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/>${bios}</os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>${devices}
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** Runs virsh against the sandbox daemon's unix socket (as root a client may use the session daemon's socket). */
export function virsh(host: GuestHost, args: string[], timeout = 30_000) {
  return run(`virsh ${args[0]}`, 'virsh', ['-q', '-c', host.unixUri, ...args], { timeout });
}

/**
 * Creates a guest `name`: its folder and qcow2 disk (qemu-img), its definition, and (unless `start: false`)
 * starts it. Fails if a domain of that name exists.
 */
export async function createGuest(host: GuestHost, name: string, opts: CreateGuestOptions = {}): Promise<GuestInfo> {
  if (!NAME_RE.test(name)) throw new SandboxError(`create guest ${name}`, 'a guest name is 1-63 of [A-Za-z0-9_.-], not starting with . _ or -');
  const dir = path.join(guestsDir(host.root), name);
  const disk = path.join(dir, 'disk.qcow2');
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(guestsDir(host.root), host.uid, host.gid);
  await run(`create guest ${name}: qemu-img`, 'qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M'], { timeout: 30_000 });
  // The daemon (and its QEMU) run as the sandbox user: the folder must be theirs to write overlays into.
  fs.chownSync(dir, host.uid, host.gid);
  fs.chownSync(disk, host.uid, host.gid);
  const xmlFile = path.join(dir, 'domain.xml');
  fs.writeFileSync(xmlFile, guestXml(name, disk, opts.memoryMiB, opts.console));
  fs.chownSync(xmlFile, host.uid, host.gid);
  await virsh(host, ['define', xmlFile]);
  if (opts.start ?? true) await virsh(host, ['start', name], 60_000);
  const uuid = (await virsh(host, ['domuuid', name])).stdout.trim();
  return { name, uuid, disk, dir };
}

/**
 * Removes guest `name` completely: destroys it if it runs, undefines it with its snapshot and checkpoint
 * metadata, and deletes its folder (disk and any overlays). A guest that does not exist is not an error.
 */
export async function removeGuest(host: GuestHost, name: string): Promise<void> {
  if (!NAME_RE.test(name)) throw new SandboxError(`remove guest ${name}`, 'not a valid guest name');
  const state = await virsh(host, ['domstate', name]).then(
    (r) => r.stdout.trim(),
    (err: SandboxError) => {
      if (/failed to get domain|Domain not found/i.test(err.message)) return null;
      throw err;
    },
  );
  if (state !== null) {
    if (state !== 'shut off') {
      await virsh(host, ['destroy', name], 60_000).catch((err: SandboxError) => {
        if (!/not running/i.test(err.message)) throw err;
      });
    }
    await virsh(host, ['undefine', name, '--snapshots-metadata', '--checkpoints-metadata', '--managed-save']);
  }
  fs.rmSync(path.join(guestsDir(host.root), name), { recursive: true, force: true });
}

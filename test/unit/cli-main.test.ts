/**
 * `runCli` without a daemon: help, version, unknown commands, the registry and its guarded load of
 * ./schedule, the context a command gets, virsh's blank line after a command, error lines, redaction of
 * secrets, the --timeout bound, LIBVIRT_DEFAULT_URI, and interruption (SIGINT/SIGTERM exit codes). A unix
 * socket that accepts and never answers plays a daemon that hangs.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliUsageError, type CliCommand, type CliContext } from '../../src/cli/command';
import { CliCommandError } from '../../src/cli/errors';
import { InterruptReason, packageVersion, runCli, type RunOptions } from '../../src/cli/main';
import { CommandRegistry, defaultRegistry } from '../../src/cli/registry';
import type { CliIo } from '../../src/cli/context';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], options: RunOptions = {}, io: Partial<CliIo> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    env: {},
    ...io,
  }, options);
  return { code, stdout, stderr };
}

/** A command whose behaviour a test supplies. */
function probe(runFn: (ctx: CliContext, args: Parameters<CliCommand['run']>[1]) => Promise<number | void>): CliCommand {
  return {
    name: 'probe',
    summary: 'a test command',
    usage: 'probe [--x <string>]',
    options: [{ name: 'x', type: 'string', positional: true, help: 'a value' }],
    run: runFn,
  };
}

/** A unix socket server that accepts connections and never writes: a daemon that hangs. */
async function silentServer(): Promise<{ uri: string; connections: () => number; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-silent-'));
  const socket = path.join(dir, 'sock');
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    uri: `qemu+unix:///session?socket=${socket}`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('help, version, unknown commands', () => {
  it('--help lists the global options and every command', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['snapshot-create-as', 'snapshot-list', 'snapshot-info', 'snapshot-dumpxml', 'snapshot-revert', 'snapshot-delete',
      'snapshot-current', 'snapshot-parent', 'checkpoint-create-as', 'checkpoint-list', 'checkpoint-info', 'checkpoint-dumpxml',
      'checkpoint-delete', 'checkpoint-parent', 'help']) {
      expect(r.stdout).toMatch(new RegExp(`^    ${name} +\\S`, 'm'));
    }
    expect(r.stdout).toContain('--timeout=MS');
    expect(r.stderr).toBe('');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(packageVersion()).toBe(pkg.version);
    expect(await run(['-v'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('an unknown command or none fails with exit 1 and virsh\'s message', async () => {
    expect(await run(['nosuchcmd'])).toEqual({ code: 1, stdout: '', stderr: "error: unknown command: 'nosuchcmd'\n" });
    expect(await run([])).toEqual({ code: 1, stdout: '', stderr: "error: no command given. See 'libvirt-rpc --help'.\n" });
    expect(await run(['-x'])).toEqual({ code: 1, stdout: '', stderr: "error: unsupported option '-x'. See --help.\n" });
  });

  it('command help: `help <command>` and `<command> --help`, then virsh\'s blank line unless -q', async () => {
    const viaHelp = await run(['help', 'snapshot-info']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(
      '  NAME\n    snapshot-info - snapshot information\n\n  SYNOPSIS\n    snapshot-info <domain> [--snapshotname <string>] [--current]\n\n' +
      '  DESCRIPTION\n    Returns basic information about a snapshot.\n\n  OPTIONS\n    [--domain] <string>  domain name, id or uuid\n' +
      '    --snapshotname <string>  snapshot name\n    --current        info on current snapshot\n    --json           print the result as JSON\n\n\n',
    );
    expect((await run(['snapshot-info', '--help'])).stdout).toBe(viaHelp.stdout);
    expect((await run(['-q', 'snapshot-info', '--help'])).stdout).toBe(viaHelp.stdout.slice(0, -1));
    expect(await run(['help', 'nosuch'])).toEqual({ code: 1, stdout: '\n', stderr: "error: command or command group 'nosuch' doesn't exist\n" });
  });
});

describe('the registry', () => {
  it('has the scheduler\'s commands', () => {
    const names = defaultRegistry().list().map((c) => c.name);
    expect(names).toContain('schedule');
    expect(names).toContain('snapshot-list');
  });

  it('refuses two commands with one name; extra commands join the list after the built-in ones', () => {
    expect(() => new CommandRegistry([probe(async () => undefined), probe(async () => undefined)])).toThrow("two CLI commands are named 'probe'");
    const names = defaultRegistry([probe(async () => undefined)]).list().map((c) => c.name);
    expect(names[0]).toBe('help');
    expect(names[names.length - 1]).toBe('probe');
    expect(() => defaultRegistry([{ ...probe(async () => undefined), name: 'snapshot-list' }])).toThrow();
  });
});

describe('a command\'s context and outcome', () => {
  it('gets the global options, --json after its name, call options and the clock', async () => {
    let seen: CliContext | null = null;
    const registry = defaultRegistry([probe(async (ctx, args) => {
      seen = ctx;
      ctx.stdout.write(`x=${args.string('x')}`);
      return 3;
    })]);
    const r = await run(['-q', '--timeout', '1234', '-c', 'test:///default', '-r', 'probe', 'v', '--json'], { registry }, { isTTY: true, now: () => new Date(5000) });
    expect(r).toEqual({ code: 3, stdout: 'x=v', stderr: '' });
    const ctx = seen as unknown as CliContext;
    expect(ctx.global).toEqual({ uri: 'test:///default', timeout: 1234, json: true, readonly: true, quiet: true });
    expect(ctx.isTTY).toBe(true);
    expect(ctx.now().getTime()).toBe(5000);
    expect(ctx.callOptions().timeout).toBe(1234);
    expect(ctx.callOptions().signal).toBe(ctx.signal);
    expect(ctx.signal.aborted).toBe(false);
  });

  it('a blank line follows a command that ran (ok or failed), not with -q or --json, not after a usage error', async () => {
    const registry = defaultRegistry([probe(async (ctx, args) => {
      if (args.string('x') === 'fail') throw new CliCommandError('Failed to probe', new CliUsageError('inner reason'));
      ctx.stdout.write('out');
    })]);
    expect(await run(['probe'], { registry })).toEqual({ code: 0, stdout: 'out\n', stderr: '' });
    expect(await run(['-q', 'probe'], { registry })).toEqual({ code: 0, stdout: 'out', stderr: '' });
    expect(await run(['probe', '--json'], { registry })).toEqual({ code: 0, stdout: 'out', stderr: '' });
    expect(await run(['probe', 'fail'], { registry })).toEqual({ code: 1, stdout: '\n', stderr: 'error: Failed to probe\nerror: inner reason\n' });
    expect(await run(['probe', 'a', 'b'], { registry })).toEqual({ code: 1, stdout: '', stderr: "error: unexpected data 'b'\n" });
  });

  it('never prints a password from a URI in an error', async () => {
    const registry = defaultRegistry([probe(async () => {
      throw new Error('cannot reach qemu+tcp://admin:hunter2@db.example/system?passphrase=s3cret&x=1');
    })]);
    const r = await run(['probe'], { registry });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cannot reach qemu+tcp://admin:***@db.example/system?passphrase=***&x=1\n');
    const conn = await run(['-c', 'qemu+tcp://admin:hunter2@127.0.0.1:1/system', '--timeout', '3000', 'snapshot-list', 'dom']);
    expect(conn.code).toBe(1);
    expect(conn.stderr).toMatch(/^error: failed to connect to the hypervisor\nerror: .+\n$/);
    expect(conn.stderr).not.toContain('hunter2');
  });
});

describe('bounds and interruption', () => {
  let server: Awaited<ReturnType<typeof silentServer>>;
  beforeEach(async () => {
    server = await silentServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('--timeout bounds opening the connection to a daemon that never answers', async () => {
    const t0 = Date.now();
    const r = await run(['-c', server.uri, '--timeout', '300', 'snapshot-list', 'dom']);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(1);
    // Connect.open hands the handshake what is left of the bound, so the message names that remainder.
    expect(r.stderr).toMatch(/^error: failed to connect to the hypervisor\nerror: opening the connection took longer than \d+ ms\n$/);
    expect(server.connections()).toBe(1);
  });

  it('without -c, LIBVIRT_DEFAULT_URI names the daemon', async () => {
    const r = await run(['--timeout', '300', 'snapshot-info', 'dom', 's1'], {}, { env: { LIBVIRT_DEFAULT_URI: server.uri } });
    expect(r.code).toBe(1);
    expect(server.connections()).toBe(1);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s aborts the call in flight and exits %d, quietly', async (signal, code) => {
    const interrupt = new AbortController();
    const t0 = Date.now();
    const pending = run(['-c', server.uri, 'snapshot-list', 'dom'], { interrupt: interrupt.signal });
    while (server.connections() === 0) await new Promise((r) => setTimeout(r, 10));
    interrupt.abort(new InterruptReason(signal));
    const r = await pending;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toEqual({ code, stdout: '', stderr: '' });
  });

  it('a command that ignores its signal still ends at once with 130', async () => {
    const interrupt = new AbortController();
    const registry = defaultRegistry([probe(() => new Promise<void>(() => undefined))]);
    const pending = run(['probe'], { registry, interrupt: interrupt.signal });
    setTimeout(() => interrupt.abort(new InterruptReason('SIGINT')), 50);
    expect(await pending).toEqual({ code: 130, stdout: '', stderr: '' });
  });
});

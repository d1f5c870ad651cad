/**
 * The CLI's argument parsing follows virsh's rules (vsh.c's vshCommandParse, main's getopt_long). Every error
 * message expected below is the one virsh 9.0 printed for the same command line on this machine.
 */
import { DEFAULT_TIMEOUT_MS, parseCommandArgs, parseGlobalArgs } from '../../src/cli/args';
import { CliUsageError, type CliCommand } from '../../src/cli/command';
import { snapshotCommands } from '../../src/cli/snapshot-commands';
import { checkpointCommands } from '../../src/cli/checkpoint-commands';

const byName = (name: string): CliCommand => {
  const c = [...snapshotCommands, ...checkpointCommands].find((x) => x.name === name);
  if (c === undefined) throw new Error(`no command ${name}`);
  return c;
};

const usageError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CliUsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('global options', () => {
  it('stop at the first word that is not an option, like getopt "+"', () => {
    const g = parseGlobalArgs(['-c', 'test:///default', '-q', 'snapshot-list', '-r', 'dom']);
    expect(g.options).toEqual({ uri: 'test:///default', timeout: DEFAULT_TIMEOUT_MS, json: false, readonly: false, quiet: true });
    expect(g.command).toBe('snapshot-list');
    expect(g.rest).toEqual(['-r', 'dom']);
  });

  it('take --connect=URI, -cURI, --timeout, --json, -r', () => {
    expect(parseGlobalArgs(['--connect=qemu:///system', 'x']).options.uri).toBe('qemu:///system');
    expect(parseGlobalArgs(['-cqemu:///session', 'x']).options.uri).toBe('qemu:///session');
    const g = parseGlobalArgs(['--timeout', '2500', '--json', '-r', 'x']);
    expect(g.options).toMatchObject({ timeout: 2500, json: true, readonly: true });
    expect(parseGlobalArgs(['--timeout=7', 'x']).options.timeout).toBe(7);
  });

  it('recognise help and version, and no command at all', () => {
    expect(parseGlobalArgs(['--help']).help).toBe(true);
    expect(parseGlobalArgs(['-h']).help).toBe(true);
    expect(parseGlobalArgs(['-v']).version).toBe(true);
    expect(parseGlobalArgs(['--version']).version).toBe(true);
    expect(parseGlobalArgs([]).command).toBeNull();
    expect(parseGlobalArgs(['--', '-odd-name']).command).toBe('-odd-name');
  });

  it.each([
    [['-x'], "unsupported option '-x'. See --help."],
    [['--bogus', 'x'], "unsupported option '--bogus'. See --help."],
    [['-c'], "option '-c'/'--connect' requires an argument"],
    [['--connect'], "option '-c'/'--connect' requires an argument"],
    [['--timeout'], "option '--timeout' requires an argument"],
    [['--timeout', '0', 'x'], "--timeout takes a positive number of milliseconds, not '0'"],
    [['--timeout', '5s', 'x'], "--timeout takes a positive number of milliseconds, not '5s'"],
    [['--quiet=yes', 'x'], "option '--quiet' doesn't allow an argument. See --help."],
  ])('%j fails: %s', (argv, message) => {
    expect(usageError(() => parseGlobalArgs(argv))).toBe(message);
  });
});

describe('command options', () => {
  it('fill data options positionally in declared order, named ones skipped', () => {
    const a = parseCommandArgs(byName('snapshot-create-as'), ['--name', 'n', 'dom', 'desc', 'vda', 'vdb,snapshot=no']);
    expect(a.string('domain')).toBe('dom');
    expect(a.string('name')).toBe('n');
    expect(a.string('description')).toBe('desc');
    expect(a.strings('diskspec')).toEqual(['vda', 'vdb,snapshot=no']);
  });

  it('take --name=value, repeatable --diskspec, and -- before data that looks like an option', () => {
    const a = parseCommandArgs(byName('snapshot-create-as'), ['--domain=d', '--diskspec', 'vda', '--diskspec=vdb', '--', '--n', '--d']);
    expect(a.string('domain')).toBe('d');
    expect(a.strings('diskspec')).toEqual(['vda', 'vdb']);
    expect(a.string('name')).toBe('--n');
    expect(a.string('description')).toBe('--d');
  });

  it('read booleans, and --json and --help on every command', () => {
    const a = parseCommandArgs(byName('snapshot-list'), ['dom', '--tree', '--json', 's1']);
    expect(a.flag('tree')).toBe(true);
    expect(a.flag('roots')).toBe(false);
    expect(a.flag('json')).toBe(true);
    expect(a.string('from')).toBe('s1');
    expect(a.has('from')).toBe(true);
    expect(a.has('current')).toBe(false);
    // --help needs no required option.
    expect(parseCommandArgs(byName('snapshot-dumpxml'), ['--help']).flag('help')).toBe(true);
  });

  it.each([
    ['snapshot-list', ['dom', '--bogus'], "command 'snapshot-list' doesn't support option --bogus"],
    ['snapshot-info', ['dom', '--snap', 's1'], "command 'snapshot-info' doesn't support option --snap"],
    ['snapshot-list', ['dom', 's1', 'extra'], "unexpected data 'extra'"],
    ['snapshot-dumpxml', ['dom', 's1', 'extra'], "unexpected data 'extra'"],
    ['snapshot-list', [], "command 'snapshot-list' requires <domain> option"],
    ['snapshot-dumpxml', ['dom'], "command 'snapshot-dumpxml' requires <snapshotname> option"],
    ['snapshot-list', ['dom', '--tree', '--tree'], 'option --tree already seen'],
    ['snapshot-info', ['dom', '--snapshotname', 's1', '--snapshotname', 's2'], 'option --snapshotname already seen'],
    ['snapshot-create-as', ['dom', '--memspec'], 'expected syntax: --memspec <string>'],
    ['snapshot-list', ['dom', '--tree=1'], 'option --tree takes no value'],
  ])('%s %j fails: %s', (name, words, message) => {
    expect(usageError(() => parseCommandArgs(byName(name), words))).toBe(message);
  });

  it('report an empty value when the command reads it, as vshCommandOptStringReq does', () => {
    const a = parseCommandArgs(byName('snapshot-info'), ['dom', '']);
    expect(a.has('snapshotname')).toBe(true);
    expect(usageError(() => a.string('snapshotname'))).toBe("Failed to get option 'snapshotname': Option argument is empty");
  });

  it('refuse to read an option the command did not declare (a bug in the command)', () => {
    const a = parseCommandArgs(byName('snapshot-info'), ['dom']);
    expect(() => a.flag('nonsense')).toThrow('option --nonsense is not declared');
    expect(() => a.string('current')).toThrow('is of type boolean');
  });

  it('parse integer options strictly', () => {
    const command: CliCommand = {
      name: 'x', summary: '', usage: '', options: [{ name: 'n', type: 'integer', help: '' }], run: async () => undefined,
    };
    expect(parseCommandArgs(command, ['--n', '42']).integer('n')).toBe(42);
    expect(parseCommandArgs(command, []).integer('n')).toBeUndefined();
    expect(usageError(() => parseCommandArgs(command, ['--n', '4x']).integer('n'))).toBe("Numeric value '4x' for <n> option is malformed or out of range");
  });
});

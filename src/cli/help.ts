/**
 * `--help` texts: the program's usage and command list, and one command's help in virsh's layout (NAME,
 * SYNOPSIS, DESCRIPTION, OPTIONS).
 */
import type { CliCommand, CliOptionSpec } from './command.js';
import { IMPLICIT_OPTIONS } from './args.js';

/** The program's name as the user typed it. */
export const PROGRAM = 'libvirt-rpc';

/** How an option shows in the OPTIONS list: `[--domain] <string>`, `--name <string>`, `--tree`. */
function optionTitle(o: CliOptionSpec): string {
  const value = o.placeholder ?? (o.type === 'integer' ? 'number' : 'string');
  if (o.type === 'boolean') return `--${o.name}`;
  // virsh brackets the name of a required data option and of a repeatable one (VSH_OT_DATA, VSH_OT_ARGV);
  // an optional one that may also be positional (VSH_OT_STRING) shows as `--name <string>`.
  const bracket = o.positional === true && (o.required === true || o.type === 'strings');
  return bracket ? `[--${o.name}] <${value}>` : `--${o.name} <${value}>`;
}

/** One command's help, laid out as virsh's `help <command>`. */
export function commandHelp(command: CliCommand): string {
  // `--help` goes unlisted, as in virsh; `--json` is ours and listed.
  const implicit = IMPLICIT_OPTIONS.filter((i) => i.name !== 'help' && !command.options.some((o) => o.name === i.name));
  const options = [...command.options, ...implicit];
  let out = `  NAME\n    ${command.name} - ${command.summary}\n\n  SYNOPSIS\n    ${command.usage}\n\n`;
  if (command.description !== undefined) out += `  DESCRIPTION\n    ${command.description.split('\n').join('\n    ')}\n\n`;
  out += '  OPTIONS\n';
  for (const o of options) {
    const title = optionTitle(o);
    // virsh pads the option column to 15 characters, then two spaces.
    out += `    ${title.padEnd(15)}  ${o.help}\n`;
  }
  return `${out}\n`;
}

/** The program's help: usage, global options and the command list. */
export function programHelp(commands: readonly CliCommand[]): string {
  const lines = [
    '',
    `${PROGRAM} [options]... <command> [args...]`,
    '',
    '  A virsh-compatible command line for libvirt snapshots and checkpoints, over libvirt-rpc.',
    '',
    '  options:',
    '    -c | --connect=URI      hypervisor connection URI (default: $LIBVIRT_DEFAULT_URI, else the local daemon)',
    '    -h | --help             this help',
    '    -q | --quiet            quiet mode',
    '    -r | --readonly         connect readonly',
    '         --timeout=MS       bound on opening the connection and on each daemon call (default 30000)',
    '         --json             print results as JSON (also accepted after the command name)',
    '    -v | -V | --version     version',
    '',
    '  commands:',
    ...commands.map((c) => `    ${c.name.padEnd(30)} ${c.summary}`),
    '',
    `  (specify help <command> or <command> --help for details about the command)`,
    '',
  ];
  return lines.join('\n') + '\n';
}

/**
 * The command registry: the snapshot and checkpoint commands, `help`, and the scheduler's commands from
 * `./schedule` when that module exists (it is loaded with a guarded require, so the CLI builds and runs
 * without it).
 */
import type { CliCommand } from './command.js';
import { checkpointCommands } from './checkpoint-commands.js';
import { commandHelp, programHelp } from './help.js';
import { snapshotCommands } from './snapshot-commands.js';
import { consoleCommand } from './console-command.js';
import { streamCommands } from './stream-commands.js';
import { CliUsageError } from './command.js';

/** Loads `scheduleCommands` from ./schedule; none when the module is not there. Other load errors surface. */
export function loadScheduleCommands(load: () => unknown = () => require('./schedule')): CliCommand[] {
  let mod: unknown;
  try {
    mod = load();
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    // Only the module itself missing is "no scheduler commands"; a missing dependency inside it is a bug.
    if (err?.code === 'MODULE_NOT_FOUND' && String(err.message).startsWith("Cannot find module './schedule'")) return [];
    throw e;
  }
  const commands = (mod as { scheduleCommands?: unknown } | null)?.scheduleCommands;
  if (commands === undefined) return [];
  if (!Array.isArray(commands)) throw new TypeError('./schedule exports scheduleCommands that is not an array');
  return commands as CliCommand[];
}

/** Commands by name. Two commands with one name are a programming error and throw. */
export class CommandRegistry {
  readonly #byName = new Map<string, CliCommand>();

  constructor(commands: readonly CliCommand[]) {
    for (const c of commands) {
      if (this.#byName.has(c.name)) throw new Error(`two CLI commands are named '${c.name}'`);
      this.#byName.set(c.name, c);
    }
  }

  /** The command named `name`, or undefined. */
  get(name: string): CliCommand | undefined {
    return this.#byName.get(name);
  }

  /** Every command, in registration order. */
  list(): CliCommand[] {
    return [...this.#byName.values()];
  }
}

/** `help [command]`: the command list, or one command's help (virsh's `help`). */
function helpCommand(registry: () => CommandRegistry): CliCommand {
  return {
    name: 'help',
    summary: 'print help',
    usage: 'help [--command <string>]',
    description: 'Prints global help or command specific help',
    options: [{ name: 'command', type: 'string', positional: true, help: 'Prints global help or command specific help' }],
    async run(ctx, args) {
      const name = args.has('command') ? args.string('command') : undefined;
      if (name === undefined) {
        ctx.stdout.write(programHelp(registry().list()));
        return;
      }
      const command = registry().get(name);
      if (command === undefined) throw new CliUsageError(`command or command group '${name}' doesn't exist`);
      ctx.stdout.write(commandHelp(command));
    },
  };
}

/** The registry of every command: `help`, snapshot, checkpoint and stream commands, then the scheduler's. */
export function defaultRegistry(extra: readonly CliCommand[] = loadScheduleCommands()): CommandRegistry {
  let registry: CommandRegistry | null = null;
  registry = new CommandRegistry([
    helpCommand(() => registry as CommandRegistry), ...snapshotCommands, ...checkpointCommands, ...streamCommands, consoleCommand, ...extra,
  ]);
  return registry;
}

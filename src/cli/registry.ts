/**
 * The command registry: the snapshot and checkpoint commands, `help`, and the scheduler's commands.
 */
import type { CliCommand } from './command.js';
import { checkpointCommands } from './checkpoint-commands.js';
import { eventCommands } from './event-commands.js';
import { commandHelp, programHelp } from './help.js';
import { scheduleCommands } from './schedule.js';
import { snapshotCommands } from './snapshot-commands.js';
import { consoleCommand } from './console-command.js';
import { streamCommands } from './stream-commands.js';
import { CliUsageError } from './command.js';
import { wsBridgeCommand } from './ws-bridge.js';

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

/** The registry of every command: `help`, snapshot, checkpoint, event and stream commands, `ws-bridge`, then the scheduler's. */
export function defaultRegistry(extra: readonly CliCommand[] = scheduleCommands): CommandRegistry {
  let registry: CommandRegistry | null = null;
  registry = new CommandRegistry([
    helpCommand(() => registry as CommandRegistry), ...snapshotCommands, ...checkpointCommands, ...eventCommands, ...streamCommands,
    consoleCommand, wsBridgeCommand, ...extra,
  ]);
  return registry;
}

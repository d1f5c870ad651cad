/**
 * Hand-written argument parsing with virsh's rules (vsh.c's vshCommandParse and main's getopt_long):
 * global options before the command, then the command's options as `--name value`, `--name=value` or, for
 * "data" options, bare words filling them in declared order; `--` makes every later word data.
 */
import { CliUsageError, type CliArgs, type CliCommand, type CliGlobalOptions, type CliOptionSpec } from './command.js';

/** The default bound on each daemon call and on opening the connection, in ms (virsh has none; we bound all). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Options every command accepts without declaring them. */
export const IMPLICIT_OPTIONS: readonly CliOptionSpec[] = [
  { name: 'help', type: 'boolean', help: 'print this help' },
  { name: 'json', type: 'boolean', help: 'print the result as JSON' },
];

type Value = string | boolean | string[];

/** The parsed options of one command, read by long name. */
export class ParsedArgs implements CliArgs {
  readonly #values: Map<string, Value>;
  readonly #specs: Map<string, CliOptionSpec>;

  constructor(specs: readonly CliOptionSpec[], values: Map<string, Value>) {
    this.#specs = new Map(specs.map((s) => [s.name, s]));
    this.#values = values;
  }

  #spec(name: string, ...types: CliOptionSpec['type'][]): CliOptionSpec {
    const spec = this.#specs.get(name);
    // A command reading an option it did not declare is a bug in the command, not a user error.
    if (spec === undefined) throw new Error(`option --${name} is not declared`);
    if (!types.includes(spec.type)) throw new Error(`option --${name} is of type ${spec.type}, not ${types.join('/')}`);
    return spec;
  }

  has(name: string): boolean {
    this.#spec(name, 'boolean', 'string', 'integer', 'strings');
    return this.#values.has(name);
  }

  flag(name: string): boolean {
    this.#spec(name, 'boolean');
    return this.#values.get(name) === true;
  }

  /** Like virsh's vshCommandOptStringReq: an empty value is an error, not a missing one. */
  string(name: string): string | undefined {
    this.#spec(name, 'string');
    const v = this.#values.get(name);
    if (v === undefined) return undefined;
    if (v === '') throw new CliUsageError(`Failed to get option '${name}': Option argument is empty`);
    return v as string;
  }

  requireString(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new CliUsageError(`--${name} is required`);
    return v;
  }

  integer(name: string): number | undefined {
    const spec = this.#spec(name, 'integer');
    const v = this.#values.get(name);
    if (v === undefined) return undefined;
    const text = v as string;
    // virsh's vshCommandOptUInt-style check: decimal digits only, within the safe integer range.
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 0) {
      throw new CliUsageError(`Numeric value '${text}' for <${spec.name}> option is malformed or out of range`);
    }
    return Number(text);
  }

  strings(name: string): string[] {
    this.#spec(name, 'strings');
    const v = this.#values.get(name);
    return v === undefined ? [] : [...(v as string[])];
  }
}

/** How `--help` names an option's value in synopses: `<string>` like virsh, or the declared placeholder. */
function valueName(spec: CliOptionSpec): string {
  return spec.placeholder ?? (spec.type === 'integer' ? 'number' : 'string');
}

/**
 * Parses a command's words (after its name) the way virsh does. Errors, with virsh's messages: an unknown
 * option, a value missing after an option, an option given twice, a word no option takes, a required option
 * left out. Every command also takes `--help` and `--json`.
 */
export function parseCommandArgs(command: CliCommand, words: readonly string[]): ParsedArgs {
  const specs = [...command.options, ...IMPLICIT_OPTIONS.filter((i) => !command.options.some((o) => o.name === i.name))];
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));
  const values = new Map<string, Value>();
  let dataOnly = false;

  const set = (spec: CliOptionSpec, value: string | true): void => {
    if (spec.type === 'strings') {
      const list = (values.get(spec.name) as string[] | undefined) ?? [];
      list.push(value as string);
      values.set(spec.name, list);
      return;
    }
    if (values.has(spec.name)) throw new CliUsageError(`option --${spec.name} already seen`);
    values.set(spec.name, value);
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    let spec: CliOptionSpec | undefined;
    let inline: string | undefined;
    if (!dataOnly && word === '--') {
      dataOnly = true;
      continue;
    }
    if (!dataOnly && word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      inline = eq < 0 ? undefined : word.slice(eq + 1);
      spec = byName.get(name);
      if (spec === undefined) throw new CliUsageError(`command '${command.name}' doesn't support option --${name}`);
    } else if (!dataOnly && /^-[A-Za-z]$/.test(word) && byShort.has(word[1])) {
      spec = byShort.get(word[1]);
    }
    if (spec !== undefined) {
      if (spec.type === 'boolean') {
        if (inline !== undefined) throw new CliUsageError(`option --${spec.name} takes no value`);
        set(spec, true);
        continue;
      }
      let value = inline;
      if (value === undefined) {
        if (i + 1 >= words.length) throw new CliUsageError(`expected syntax: --${spec.name} <${valueName(spec)}>`);
        value = words[++i];
      }
      set(spec, value);
      continue;
    }
    // A bare word fills the first positional option not given yet; a repeatable one takes every later word.
    const target = specs.find((s) => s.positional === true && (s.type === 'strings' || !values.has(s.name)));
    if (target === undefined) throw new CliUsageError(`unexpected data '${word}'`);
    set(target, word);
  }

  if (values.get('help') !== true) {
    for (const spec of specs) {
      if (spec.required === true && !values.has(spec.name)) {
        throw new CliUsageError(`command '${command.name}' requires <${spec.name}> option`);
      }
    }
  }
  return new ParsedArgs(specs, values);
}

/** What the global options say, and where the command starts. */
export interface GlobalParse {
  options: CliGlobalOptions;
  /** `-h/--help` was given (before any command). */
  help: boolean;
  /** `-v`, `-V` or `--version` was given. */
  version: boolean;
  /** The command name and its words, or null when none was given. */
  command: string | null;
  rest: string[];
}

/**
 * Parses the global options (virsh's `getopt_long("+...")`: they stop at the first word that is not one).
 * `-c/--connect URI`, `-r/--readonly`, `-q/--quiet`, `-h/--help`, `-v/-V/--version`, and ours: `--timeout MS`,
 * `--json`. `env` supplies nothing here: the URI default (LIBVIRT_DEFAULT_URI) is applied when connecting.
 */
export function parseGlobalArgs(argv: readonly string[]): GlobalParse {
  let uri: string | null = null;
  let timeout = DEFAULT_TIMEOUT_MS;
  let json = false;
  let readonly = false;
  let quiet = false;
  let help = false;
  let version = false;
  let i = 0;
  const valueOf = (name: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    // getopt's wording, as virsh prints it: "option '-c'/'--connect' requires an argument".
    const names = name === '-c' || name === '--connect' ? "'-c'/'--connect'" : `'${name}'`;
    if (i + 1 >= argv.length) throw new CliUsageError(`option ${names} requires an argument`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq < 0 ? word : word.slice(0, eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    // getopt also accepts `-cURI`: a short option with its value attached.
    if (/^-c./.test(word)) {
      uri = word.slice(2);
      continue;
    }
    switch (name) {
      case '-c':
      case '--connect':
        uri = valueOf(name, inline);
        break;
      case '--timeout': {
        const text = valueOf(name, inline);
        if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) <= 0) {
          throw new CliUsageError(`--timeout takes a positive number of milliseconds, not '${text}'`);
        }
        timeout = Number(text);
        break;
      }
      case '--json':
        json = true;
        break;
      case '-r':
      case '--readonly':
        readonly = true;
        break;
      case '-q':
      case '--quiet':
        quiet = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      case '-v':
      case '-V':
      case '--version':
        version = true;
        break;
      default:
        throw new CliUsageError(`unsupported option '${name}'. See --help.`);
    }
    if (inline !== undefined && !['--connect', '--timeout'].includes(name)) {
      throw new CliUsageError(`option '${name}' doesn't allow an argument. See --help.`);
    }
  }
  const command = i < argv.length ? argv[i] : null;
  return {
    options: { uri, timeout, json, readonly, quiet },
    help,
    version,
    command,
    rest: command === null ? [] : argv.slice(i + 1),
  };
}

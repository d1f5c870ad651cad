/** Writing a command's results: virsh's informational lines, and `--json` documents. */
import type { CliContext } from './command.js';
import { formatJson } from './format.js';

/**
 * An informational line (virsh's vshPrintExtra: "Domain snapshot s1 created"): left out with `-q` and with
 * `--json`, where the JSON document is the only output.
 */
export function printExtra(ctx: CliContext, text: string): void {
  if (!ctx.global.quiet && !ctx.global.json) ctx.stdout.write(text);
}

/** Writes `value` as the command's JSON document. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(formatJson(value));
}

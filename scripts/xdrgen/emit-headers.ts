/**
 * Emits the public header constants: every `typedef enum` as an `as const` object and as flat constants,
 * numeric and string `#define`s, and the virErrorNumber / virErrorDomain names by code.
 */
import type { HeaderConstants } from './c-headers';

export function emitHeaders(h: HeaderConstants): string[] {
  const out: string[] = [];
  const flat = new Set<string>();
  for (const e of h.enums) {
    out.push(`/** typedef enum ${e.name} (${e.header}). */`, `export const ${e.name} = {`);
    for (const m of e.members) out.push(`  ${m.name}: ${m.value},`);
    out.push('} as const;', '');
  }
  out.push('// Every enum member as its own constant.');
  for (const e of h.enums) {
    for (const m of e.members) {
      if (flat.has(m.name)) continue;
      flat.add(m.name);
      out.push(`export const ${m.name} = ${m.value};`);
    }
  }
  out.push('', '// Object-like #define constants.');
  for (const d of h.defines) {
    if (flat.has(d.name)) continue;
    flat.add(d.name);
    out.push(`export const ${d.name} = ${typeof d.value === 'string' ? JSON.stringify(d.value) : d.value};`);
  }
  out.push('');
  const names = (enumName: string, exportName: string, what: string): void => {
    const e = h.enums.find((x) => x.name === enumName);
    if (!e) throw new Error(`the headers have no enum ${enumName}`);
    out.push(`/** ${what}: code -> name. Where two names share a code the first declared wins. */`);
    out.push(`export const ${exportName}: Readonly<Record<number, string>> = {`);
    const seen = new Set<number>();
    for (const m of e.members) {
      if (seen.has(m.value)) continue;
      seen.add(m.value);
      out.push(`  ${m.value}: '${m.name}',`);
    }
    out.push('};', '');
  };
  names('virErrorNumber', 'virErrorNumberNames', 'virErrorNumber names (VIR_ERR_*)');
  names('virErrorDomain', 'virErrorDomainNames', 'virErrorDomain names (VIR_FROM_*)');
  const events = h.enums.filter((e) => /EventID$/.test(e.name));
  out.push('/** The event id enums of every object family (virDomainEventID, virNetworkEventID, ...). */');
  out.push(`export const eventIdEnums = { ${events.map((e) => `${e.name}`).join(', ')} } as const;`, '');
  return out;
}

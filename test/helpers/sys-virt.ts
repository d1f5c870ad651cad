/** Perl's Sys::Virt (libsys-virt-perl), the oracle for the object classes' constants. */
import { execFileSync } from 'node:child_process';

/** Every integer constant Sys::Virt defines in `pkg` (e.g. `Sys::Virt::StorageVol`), read from the installed module. */
export function sysVirtConstants(pkg: string): Record<string, number> {
  const script = `no strict "refs"; use Sys::Virt; my %h; for my $k (keys %{"${pkg}::"}) { next unless $k =~ /^[A-Z][A-Z0-9_]+$/; `
    + `my $v = eval { &{"${pkg}::$k"}() }; $h{$k} = $v if defined $v && $v =~ /^-?\\d+$/; } `
    + 'print join("\\n", map { "$_ $h{$_}" } sort keys %h);';
  const out = execFileSync('perl', ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => {
    const [k, v] = l.split(' ');
    return [k, Number(v)];
  }));
}

import type { Metafile } from 'esbuild';

/** Builds the snapshot page into `outdir` (default examples/browser/dist); resolves to esbuild's metafile. */
export function buildPage(outdir?: string): Promise<Metafile>;

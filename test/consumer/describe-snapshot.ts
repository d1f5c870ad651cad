// Consumer check: a program that only reads snapshot XML (bundled with esbuild; its size is in README.md).
import { describeSnapshot } from 'libvirt-rpc/core';

export function snapshotName(xml: string): string {
  return describeSnapshot(xml).name;
}

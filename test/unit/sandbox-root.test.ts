/**
 * Each checkout gets a sandbox folder of its own by default, so two test runs from two checkouts on one machine
 * never share a daemon (one restarting it would kill the other's guests and move its ports).
 * LIBVIRT_RPC_SANDBOX_DIR still chooses the folder when set.
 */
import * as path from 'node:path';
import { layout, sandboxRoot, validateRoot } from '../../scripts/sandbox/setup';

const REPO = path.resolve(__dirname, '../..');

test('two checkouts get two folders; the same checkout always the same one', () => {
  const a = sandboxRoot({}, '/work/wt-a');
  const b = sandboxRoot({}, '/work/wt-b');
  expect(a).not.toBe(b);
  expect(sandboxRoot({}, '/work/wt-a')).toBe(a);
  // Paths that differ only in a trailing slash or a '..' are the same checkout.
  expect(sandboxRoot({}, '/work/x/../wt-a/')).toBe(a);
  // Checkouts that share a folder name in different places differ too.
  expect(sandboxRoot({}, '/home/u/libvirt-rpc')).not.toBe(sandboxRoot({}, '/srv/ci/libvirt-rpc'));
});

test('the default for this checkout is derived from its path, and is a valid sandbox folder', () => {
  const root = sandboxRoot({});
  expect(root).toBe(sandboxRoot({}, REPO));
  expect(root).not.toBe('/tmp/libvirt-rpc-sandbox');
  expect(() => validateRoot(root)).not.toThrow();
});

test('any checkout path gives a folder whose unix socket path fits in sun_path', () => {
  for (const checkout of ['/', '/a', `/${'x'.repeat(300)}`, '/home/Ünïcödé user/my checkout (2)/libvirt-rpc', '/tmp/a b/c;d$e']) {
    const root = sandboxRoot({}, checkout);
    expect(() => validateRoot(root)).not.toThrow();
    expect(Buffer.byteLength(layout(root).socket)).toBeLessThanOrEqual(107);
  }
});

test('LIBVIRT_RPC_SANDBOX_DIR chooses the folder when set', () => {
  expect(sandboxRoot({ LIBVIRT_RPC_SANDBOX_DIR: '/tmp/lvrpc-mine' }, '/work/wt-a')).toBe('/tmp/lvrpc-mine');
  expect(sandboxRoot({ LIBVIRT_RPC_SANDBOX_DIR: '' }, '/work/wt-a')).toBe(sandboxRoot({}, '/work/wt-a'));
});

// Runs before `npm test` and `npm start`: installs the npm dependencies when a fresh clone has none yet.
// (Debian packages — libvirtd, QEMU, virsh, sshd — are installed by the sandbox when it runs as root, or it
// prints the exact apt-get command to run.)
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const needed = ['jest', 'tsc', 'eslint'].map((b) => join(root, 'node_modules', '.bin', b));
if (!needed.every((p) => existsSync(p))) {
  process.stderr.write('libvirt-rpc: npm dependencies are missing; running `npm ci`\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

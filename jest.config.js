/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const common = {
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Sources import siblings as './x.js' (what Node's ESM loader needs); in tests that means './x.ts'.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // The build's output (dist/) holds copies of every module and two package.json files; jest never needs them.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

/**
 * The reliability suite by attack class: patterns match `<file> › <describe> › <test>`. Add a suite's file (or
 * its tests' titles) here when it attacks the client in one of these ways.
 */
const RELIABILITY = {
  'fake peer': [
    '^test/unit/rpc-client-fake-peer\\.test\\.ts',
    '^test/unit/rpc-keepalive-open\\.test\\.ts',
    '^test/unit/rpc-reply-with-fds\\.test\\.ts',
    '^test/unit/bounds-close\\.test\\.ts',
    '^test/unit/objects-connect-timeout\\.test\\.ts',
    '^test/integration/rpc-reply-with-fds\\.test\\.ts',
    '^test/unit/stream-fake-peer\\.test\\.ts',
    '^test/unit/events-hub\\.test\\.ts',
    '^test/unit/sasl-exchange\\.test\\.ts',
    '^test/unit/websocket-transport\\.test\\.ts',
  ],
  'hostile input': [
    '^test/unit/xdr-fuzz\\.test\\.ts',
    '^test/unit/rpc-framing\\.test\\.ts',
    '^test/unit/xml-parse-safety\\.test\\.ts',
    '^test/unit/uri-secrets\\.test\\.ts',
    '^test/unit/uri\\.test\\.ts › parseUri: malformed URIs',
    '^test/unit/tls-bad-credentials\\.test\\.ts',
    '^test/unit/bounds-timeouts\\.test\\.ts',
    '^test/unit/ssh-secrets\\.test\\.ts',
    '^test/integration/ws-bridge-refusals\\.test\\.ts',
    '^test/integration/sasl-errors\\.test\\.ts',
  ],
  'SIGKILL and crashes': [
    '^test/integration/rpc-engine\\.test\\.ts › .*SIGKILL',
    '^test/integration/scheduler\\.test\\.ts › killed with SIGKILL',
    '^test/integration/sandbox-revive\\.test\\.ts',
    '^test/unit/cli-signals\\.test\\.ts',
    '^test/integration/streams-abort\\.test\\.ts',
    '^test/integration/events-reconnect\\.test\\.ts',
    '^test/integration/daemon-crash-delete-children\\.test\\.ts',
  ],
  flood: [
    '^test/unit/flood-',
    '^test/unit/events-flood\\.test\\.ts',
  ],
};

module.exports = {
  // Jest runs the pure tests and the daemon tests as two projects; `npm test` runs both.
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
  // A bound on every test (jest only honours it globally); long integration tests set their own.
  testTimeout: 120000,
  // After the usual report, one line per attack class of the reliability suite (test/reporters/).
  reporters: ['default', ['<rootDir>/test/reporters/reliability-summary.cjs', { classes: RELIABILITY }]],
};

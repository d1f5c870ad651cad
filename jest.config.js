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
};

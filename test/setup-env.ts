// Jest's test realm on Node 20 lacks Symbol.asyncDispose (Node itself has it under this registered key), so
// `await using` and `[Symbol.asyncDispose]` methods would not work in tests without it.
if (!(Symbol as { asyncDispose?: symbol }).asyncDispose) {
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });
}

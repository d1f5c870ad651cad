// Consumer check: loads every entry point named on the command line with require() and prints each one's
// export names as JSON (test/integration/package-consumer.test.ts runs it in a project that installed the tarball).
'use strict';
const out = {};
for (const entry of JSON.parse(process.argv[2])) out[entry] = Object.keys(require(entry)).sort();
process.stdout.write(JSON.stringify(out));

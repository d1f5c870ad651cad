// Consumer check: loads every entry point named on the command line with import() and prints each one's
// export names as JSON (test/integration/package-consumer.test.ts runs it in a project that installed the tarball).
import process from 'node:process';

const out = {};
for (const entry of JSON.parse(process.argv[2])) out[entry] = Object.keys(await import(entry)).sort();
process.stdout.write(JSON.stringify(out));

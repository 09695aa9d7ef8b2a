// `npm run bench [name ...]`: runs the benchmarks (never part of `npm test`) and prints Markdown for
// docs/benchmarks.md. Each benchmark module exports `main(): Promise<string>` returning its section.
import { resolve } from 'node:path';
import { runningOutput } from './harness';

const ALL = ['consensus', 'routing', 'ingest', 'prelabel', 'export', 'web'];

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
  const unknown = wanted.filter((w) => !ALL.includes(w));
  if (unknown.length) {
    console.error(`Unknown benchmark(s) ${unknown.join(', ')}; available: ${ALL.join(', ')}`);
    process.exit(2);
  }
  for (const name of wanted) {
    const mod = await import(resolve(__dirname, `${name}.bench.js`));
    process.stdout.write(`\n## ${name}\n\n`);
    const out = await mod.main();
    if (typeof out === 'string') process.stdout.write(`${out}\n`);
  }
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  const output = runningOutput();
  if (output) console.error(`\nOutput of the Contour processes still running:\n${output}`);
  process.exit(1);
});

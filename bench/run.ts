// `npm run bench`: every benchmark in one run on this machine, so the ratios compare like with
// like. Writes bench/results.json and prints the table the README's "Performance" section shows.
// BENCH_QUICK=1 runs fewer and smaller rounds (a smoke test of the benchmarks themselves).

import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchCli } from './cli.ts';
import { benchFootprint } from './footprint.ts';
import { round } from './stats.ts';
import { formatTable } from './table.ts';
import { benchThroughput, CONSUMERS, scenario } from './throughput.ts';

const quick = process.env.BENCH_QUICK === '1';
const concurrency = 20;
const began = performance.now();

console.log('CLI start-up and generation…');
const cli = await benchCli(quick ? 3 : 11);
console.log('Worker throughput…');
const scenarios = [
  scenario('noop', quick ? 1000 : 5000, concurrency),
  scenario('sleep', quick ? 400 : 3000, concurrency),
];
const throughput = await benchThroughput(scenarios, quick ? 1 : 3);
console.log('Worker footprint…');
const footprint = await benchFootprint(quick ? 2 : 5);

const sleeps = scenarios[1]?.sleeps ?? [];
const physicalLimit = concurrency / (sleeps.reduce((sum, ms) => sum + ms, 0) / sleeps.length / 1000);
const ours = (name: 'noop' | 'sleep') => throughput[name]?.['be-worker'].perSecond ?? 0;
const targets = [
  { what: 'start-up vs create-vite', ratio: cli.startupRatio, target: '≤ 1.2', met: cli.startupRatio <= 1.2 },
  { what: 'generation vs create-vite', ratio: cli.generationRatio, target: '≤ 2', met: cli.generationRatio <= 2 },
  ...CONSUMERS.filter((name) => name !== 'be-worker').map((name) => {
    const ratio = round(ours('noop') / (throughput.noop?.[name].perSecond ?? 1));
    return {
      what: `no-op throughput vs ${name}`,
      ratio,
      target: name === 'sqs-consumer' ? '≥ 1.2' : '',
      met: name === 'sqs-consumer' ? ratio >= 1.2 : null,
    };
  }),
  ...CONSUMERS.map((name) => {
    const ratio = round((throughput.sleep?.[name].perSecond ?? 0) / physicalLimit);
    return {
      what: `sleeping tasks, ${name} vs C ÷ mean task time`,
      ratio,
      target: name === 'be-worker' ? '≥ 0.95' : '',
      met: name === 'be-worker' ? ratio >= 0.95 : null,
    };
  }),
];

const results = {
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: round(totalmem() / 2 ** 30, 1),
  },
  quick,
  cli,
  throughput: {
    concurrency,
    physicalLimitPerSecond: round(physicalLimit, 0),
    scenarios: scenarios.map(({ name, messages }) => ({ name, messages })),
    results: throughput,
  },
  footprint,
  targets,
  seconds: round((performance.now() - began) / 1000, 0),
};
await writeFile(new URL('results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\n${formatTable(results)}`);
console.log(`\nbench/results.json written; ${results.seconds} s in all.`);

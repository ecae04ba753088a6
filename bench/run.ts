// `npm run bench`: every benchmark in one run on this machine, so the ratios compare like with
// like. Writes bench/results.json and bench/chart.svg, and prints the tables the README's
// "Performance" section shows. BENCH_QUICK=1 runs fewer and smaller rounds (a smoke test of the
// benchmarks themselves). A section that fails is reported with its reason; the others' results are
// written all the same.

import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchAutoscale } from './autoscale.ts';
import { benchCelery } from './celery.ts';
import { chartOf } from './chart.ts';
import { benchCli } from './cli.ts';
import { benchFootprint, EVERY_SETTING, type Footprint } from './footprint.ts';
import { benchScaling } from './scaling.ts';
import { round, sections } from './stats.ts';
import { formatTable } from './table.ts';
import { benchInProcessPool, benchThroughput, CONSUMERS, scenario } from './throughput.ts';

const quick = process.env.BENCH_QUICK === '1';
const concurrency = 20;
const began = performance.now();

const { section, failed } = sections();
const cli = await section('CLI start-up and generation', () => benchCli(quick ? 3 : 11));
const scenarios = [
  scenario('noop', quick ? 1000 : 5000, concurrency),
  scenario('sleep', quick ? 400 : 3000, concurrency),
];
const throughput = await section('Worker throughput', () => benchThroughput(scenarios, quick ? 1 : 3));
const inProcessPoolPerSecond = await section('In-process pool', () =>
  benchInProcessPool(scenarios[1]?.sleeps ?? [], concurrency, quick ? 1 : 3),
);
const footprint = await section('Worker footprint', () => benchFootprint(quick ? 2 : 5));
const scaling = await section('Cost as work grows', () => benchScaling(quick));
const celery = await section('Against Celery, and 1 → 2 processes', () => benchCelery(quick));
const autoscale = await section('Scale-out on queue depth', () => benchAutoscale(quick));

const sleeps = scenarios[1]?.sleeps ?? [];
const physicalLimit = concurrency / (sleeps.reduce((sum, ms) => sum + ms, 0) / sleeps.length / 1000);
const targets = [
  ...(cli ? cliTargets(cli) : []),
  ...(throughput ? throughputTargets(throughput) : []),
  ...(inProcessPoolPerSecond === undefined
    ? []
    : [
        {
          what: 'sleeping tasks, in-process pool without SQS vs C ÷ mean task time',
          ratio: round(inProcessPoolPerSecond / physicalLimit),
          target: '',
          met: null,
        },
      ]),
  ...(scaling ? scalingTargets(scaling) : []),
  ...(footprint && throughput ? footprintTargets(footprint, throughput) : []),
  ...(celery ? celeryTargets(celery) : []),
  ...(autoscale
    ? [
        {
          what: `drain time of a burst, one fixed replica ÷ ${autoscale.keda.fleet}`,
          ratio: autoscale.speedup,
          target: '',
          met: null,
        },
      ]
    : []),
];

type Of<T extends (...args: never[]) => unknown> = NonNullable<Awaited<ReturnType<T>>>;

function cliTargets(cli: Of<typeof benchCli>) {
  return [
    { what: 'start-up vs create-vite', ratio: cli.startupRatio, target: '≤ 1.0', met: cli.startupRatio <= 1.0 },
    { what: 'generation vs create-vite', ratio: cli.generationRatio, target: '≤ 1.5', met: cli.generationRatio <= 1.5 },
  ];
}

function throughputTargets(throughput: Of<typeof benchThroughput>) {
  const ours = (name: 'noop' | 'sleep') => throughput[name]?.['be-worker'].perSecond ?? 0;
  return [
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
        target: name === 'be-worker' ? '≥ 0.97' : '',
        met: name === 'be-worker' ? ratio >= 0.97 : null,
      };
    }),
  ];
}

/**
 * No-op tasks at 0.95 of the bare SDK loop; 10–100 ms tasks at 0.95 of what is possible at that C:
 * C ÷ mean task time, or the bare loop's rate where the machine allows less (issue 29).
 */
function scalingTargets(scaling: Of<typeof benchScaling>) {
  const at = (tasks: string, c: number, consumer: string) =>
    scaling.concurrency.find(
      (point) => point.tasks === tasks && point.concurrency === c && point.consumer === consumer,
    );
  return [
    ...[10, 100, 1000].map((c) => {
      const ratio = round((at('noop', c, 'be-worker')?.perSecond ?? 0) / (at('noop', c, 'sdk-loop')?.perSecond ?? 1));
      return { what: `no-op throughput vs sdk-loop, C = ${c}`, ratio, target: '≥ 0.95', met: ratio >= 0.95 };
    }),
    ...[200, 1000].map((c) => {
      const point = at('sleep', c, 'be-worker');
      const possible = Math.min(
        point?.limitPerSecond ?? 1,
        at('sleep', c, 'sdk-loop')?.perSecond ?? Number.POSITIVE_INFINITY,
      );
      const ratio = round((point?.perSecond ?? 0) / possible);
      return {
        what: `sleeping tasks, be-worker vs min(C ÷ mean, sdk-loop), C = ${c}`,
        ratio,
        target: '≥ 0.95',
        met: ratio >= 0.95,
      };
    }),
    ...[10, 100, 1000].map((c) => {
      const ratio = round(
        (at('noop', c, 'be-worker')?.cpuUsPerMessage ?? 0) / (at('noop', c, 'sdk-loop')?.cpuUsPerMessage ?? 1),
      );
      return { what: `CPU µs per no-op message, be-worker ÷ sdk-loop, C = ${c}`, ratio, target: '', met: null };
    }),
  ];
}

function footprintTargets({ workers }: Footprint, throughput: Of<typeof benchThroughput>) {
  const off = workers['all off'];
  const on = workers[EVERY_SETTING];
  const unset = workers['all on, no settings given'];
  const load = round((off?.loadRssMb ?? 0) / (throughput.noop?.['sdk-loop'].peakRssMb ?? 1));
  return [
    ...(off
      ? [{ what: 'idle RSS MB, all integrations off', ratio: off.idleRssMb, target: '≤ 75', met: off.idleRssMb <= 75 }]
      : []),
    ...(on
      ? [{ what: `idle RSS MB, ${EVERY_SETTING}`, ratio: on.idleRssMb, target: '≤ 110', met: on.idleRssMb <= 110 }]
      : []),
    ...(unset
      ? [{ what: 'idle RSS MB, all on, no settings given', ratio: unset.idleRssMb, target: '', met: null }]
      : []),
    ...(off ? [{ what: 'RSS at load, all off, vs sdk-loop', ratio: load, target: '≤ 1.2', met: load <= 1.2 }] : []),
  ];
}

/** WORKER_PROCESSES=2 against one process and against Celery prefork -c 2. */
function celeryTargets(celery: Of<typeof benchCelery>) {
  const run = (tasks: string, who: string) =>
    celery.runs.find((each) => each.tasks === tasks && each.contender === who) as (typeof celery.runs)[number];
  const ours = (tasks: string) => run(tasks, 'be-worker, WORKER_PROCESSES=2');
  const theirs = (tasks: string) => run(tasks, 'Celery, prefork -c 2');
  const one = run('noop', 'be-worker, 1 process');
  const oneAsWide = run('noop', 'be-worker, 1 process, WORKER_CONCURRENCY=20');
  const rows = [
    { what: 'no-op throughput', ratio: ours('noop').perSecond / theirs('noop').perSecond, higher: true },
    { what: 'sleeping-task throughput', ratio: ours('sleep').perSecond / theirs('sleep').perSecond, higher: true },
    { what: 'start to first task', ratio: ours('noop').startToReadyMs / theirs('noop').startToReadyMs, higher: false },
  ];
  const pool = round(ours('noop').perSecond / one.perSecond);
  const rss = round(ours('noop').peakRssMb / theirs('noop').peakRssMb);
  return [
    ...rows.map(({ what, ratio, higher }) => ({
      what: `${what}, WORKER_PROCESSES=2 vs Celery -c 2`,
      ratio: round(ratio),
      target: higher ? '> 1' : '< 1',
      met: higher ? ratio > 1 : ratio < 1,
    })),
    { what: 'peak RSS at load, WORKER_PROCESSES=2 vs Celery -c 2', ratio: rss, target: '≤ 1.2', met: rss <= 1.2 },
    {
      what: `no-op throughput, WORKER_PROCESSES=2 vs 1 process (CPU: worker ${one.workerCores} → ${ours('noop').workerCores} cores, machine ${one.machineCores} → ${ours('noop').machineCores} of ${cpus().length})`,
      ratio: pool,
      target: '≥ 1.6',
      met: pool >= 1.6,
    },
    ...(oneAsWide
      ? [
          {
            what: 'no-op throughput, WORKER_PROCESSES=2 vs 1 process with as many tasks at once (WORKER_CONCURRENCY=20)',
            ratio: round(ours('noop').perSecond / oneAsWide.perSecond),
            target: '',
            met: null,
          },
        ]
      : []),
  ];
}

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
  throughput: throughput && {
    concurrency,
    physicalLimitPerSecond: round(physicalLimit, 0),
    inProcessPoolPerSecond,
    scenarios: scenarios.map(({ name, messages }) => ({ name, messages })),
    results: throughput,
  },
  footprint,
  scaling,
  celery,
  autoscale,
  targets,
  failed,
  seconds: round((performance.now() - began) / 1000, 0),
};
await writeFile(new URL('results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
if (scaling) await writeFile(new URL('chart.svg', import.meta.url), chartOf({ ...results, scaling }));
console.log(`\n${formatTable(results)}`);
console.log(`\nbench/results.json${scaling ? ' and bench/chart.svg' : ''} written; ${results.seconds} s in all.`);
const failures = Object.entries(failed);
if (failures.length > 0) {
  console.error(`\n${failures.length} section(s) failed, their results left out:`);
  for (const [name, why] of failures) console.error(`- ${name}: ${why}`);
  process.exitCode = 1;
}

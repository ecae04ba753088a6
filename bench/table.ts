// The results as Markdown tables: what `npm run bench` prints and the README shows.
import type { Autoscale } from './autoscale.ts';
import type { Drained } from './celery.ts';
import type { Footprint } from './footprint.ts';
import type { Scaling, ScalingPoint } from './scaling.ts';

interface Results {
  date: string;
  machine: { node: string; cpus: number; cpuModel?: string | undefined };
  cli?: { runs: number; startupMs: Record<string, number>; generationMs: Record<string, number> };
  throughput?: {
    concurrency: number;
    physicalLimitPerSecond: number;
    /** The same sleeps through an in-process pool of C slots, no SQS: the best any worker does here. */
    inProcessPoolPerSecond?: number;
    scenarios: { name: string; messages: number }[];
    results: Record<string, Record<string, { perSecond: number; p50Ms: number; p99Ms: number; peakRssMb: number }>>;
  };
  footprint?: Footprint;
  scaling?: Scaling;
  celery?: { celery: string; runs: Drained[] };
  autoscale?: Autoscale;
  targets: { what: string; ratio: number; target: string; met: boolean | null }[];
  /** The sections that failed, and why: their results are missing. */
  failed?: Record<string, string>;
}

const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

const ratio = (a: number | undefined, b: number | undefined) => (a && b ? +(a / b).toFixed(2) : '');

/** Each step's be-worker and sdk-loop runs side by side. */
function pairs(points: readonly ScalingPoint[], key: (point: ScalingPoint) => string) {
  const steps = [...new Set(points.map(key))];
  return steps.map((step) => {
    const at = points.filter((point) => key(point) === step);
    const ours = at.find((point) => point.consumer === 'be-worker') as ScalingPoint;
    return { ours, sdk: at.find((point) => point.consumer === 'sdk-loop') };
  });
}

export function formatScaling({ concurrency, queues, bodySize }: Scaling): string[] {
  return [
    `**Cost as work grows**: the runtime (be-worker) beside the bare SDK loop, one run per point; sleeping tasks take 10–100 ms, their limit is C ÷ mean task time\n\n${table(
      [
        'tasks',
        'C',
        'tasks sent',
        'be-worker msgs/s',
        'sdk-loop msgs/s',
        'be-worker ÷ sdk-loop',
        'be-worker ÷ limit',
        'CPU µs/msg be-worker',
        'CPU µs/msg sdk-loop',
        'RSS MB be-worker',
        'RSS MB sdk-loop',
      ],
      pairs(concurrency, (point) => `${point.tasks} ${point.concurrency}`).map(({ ours, sdk }) => [
        ours.tasks,
        ours.concurrency,
        ours.messages,
        ours.perSecond,
        sdk?.perSecond ?? '',
        ratio(ours.perSecond, sdk?.perSecond),
        ratio(ours.perSecond, ours.limitPerSecond),
        ours.cpuUsPerMessage ?? '',
        sdk?.cpuUsPerMessage ?? '',
        ours.peakRssMb,
        sdk?.peakRssMb ?? '',
      ]),
    )}`,
    `**Queues** (no-op tasks at C = 20 on each queue, spread evenly)\n\n${table(
      ['queues', 'tasks sent', 'be-worker msgs/s', '÷ 1 queue', 'RSS MB'],
      queues.map((point) => [
        point.queues,
        point.messages,
        point.perSecond,
        ratio(point.perSecond, queues[0]?.perSecond),
        point.peakRssMb,
      ]),
    )}`,
    `**Body size** (no-op tasks at C = 20, each SQS body padded)\n\n${table(
      [
        'body KiB',
        'tasks sent',
        'be-worker msgs/s',
        'sdk-loop msgs/s',
        'be-worker ÷ sdk-loop',
        'RSS MB be-worker',
        'RSS MB sdk-loop',
      ],
      pairs(bodySize, (point) => String(point.bodyBytes)).map(({ ours, sdk }) => [
        ours.bodyBytes / 1024,
        ours.messages,
        ours.perSecond,
        sdk?.perSecond ?? '',
        ratio(ours.perSecond, sdk?.perSecond),
        ours.peakRssMb,
        sdk?.peakRssMb ?? '',
      ]),
    )}`,
  ];
}

export function formatFootprint({ workers, libraries, notMeasured = {} }: Footprint): string {
  const byWorker = table(
    ['integrations', 'node_modules MB', 'start to ready ms', 'idle RSS MB', 'RSS at load MB'],
    Object.entries(workers).map(([label, each]) => [
      label,
      each.nodeModulesMb,
      each.startupMs,
      each.idleRssMb,
      each.loadRssMb,
    ]),
  );
  const missing = Object.entries(notMeasured).map(([label, why]) => `\n\n${label}: not measured (${why})`);
  const byLibrary = table(
    ['library', 'RSS MB it adds'],
    Object.entries(libraries.addsMb)
      .sort(([, a], [, b]) => b - a)
      .map(([name, mb]) => [`\`${name}\``, mb]),
  );
  return `**Generated worker** (\`node dist/main.js\`)\n\n${byWorker}${missing.join('')}\n\n**What each library costs**: the all-on worker's dependencies, each loaded alone in a fresh Node process in its folder, RSS above \`node\` alone (${libraries.nodeMb} MB); they share parts, so they do not add up\n\n${byLibrary}`;
}

export function formatCelery({ celery, runs }: NonNullable<Results['celery']>): string {
  return `**Against Celery ${celery}** (prefork \`-c 2\`) and 1 → 2 processes: the generated worker, all integrations off, \`node dist/main.js\` with WORKER_CONCURRENCY=10 per process; the same Celery bodies from a filled queue; CPU is in cores (CPU seconds ÷ seconds of the steady state): the worker's process tree, the local SQS (on the same cores) and the whole machine (all its processes, the bench's included), so that what was left for the worker is seen\n\n${table(
    [
      'tasks',
      'worker',
      'tasks at once',
      'tasks sent',
      'msgs/s',
      '÷ limit',
      'start to first task ms',
      'peak RSS MB (process tree)',
      'CPU: worker',
      'CPU: local SQS',
      'CPU: machine',
    ],
    runs.map((run) => [
      run.tasks,
      run.contender,
      run.concurrency,
      run.messages,
      run.perSecond,
      ratio(run.perSecond, run.limitPerSecond),
      run.startToReadyMs,
      run.peakRssMb,
      run.workerCores ?? '',
      run.emulatorCores ?? '',
      run.machineCores ?? '',
    ]),
  )}`;
}

export function formatAutoscale({ messages, sleepMs, runs, options, fixed, keda, speedup }: Autoscale): string {
  const seconds = (value: number | undefined, fallback: number) => `${value ?? fallback} s`;
  return `**Scale-out on queue depth** (simulated: KEDA's aws-sqs-queue rule and the HPA's applied to the local SQS's depth, test/support/keda.ts): a burst of ${messages} tasks of ${sleepMs.min}–${sleepMs.max} ms; each replica the generated worker (\`node dist/main.js\`, all integrations off); queueLength ${options.queueLength ?? options.concurrency} (WORKER_CONCURRENCY ${options.concurrency} × 1 process), pollingInterval ${seconds(options.pollingInterval, 30)}, activationQueueLength ${options.activationQueueLength ?? 0}, in-flight messages ${options.scaleOnInFlight === false ? 'not ' : ''}counted; drain time from the first message sent to an empty queue, median of ${runs} alternated runs\n\n${table(
    ['fleet', 'replicas', 'drain s', 'msgs/s', 'peak replicas', 'fixed ÷ this'],
    [fixed, keda].map((run) => [
      run.fleet,
      `${run.minReplicaCount}–${run.maxReplicaCount}`,
      run.drainSeconds,
      run.perSecond,
      run.peakReplicas,
      run === keda ? speedup : 1,
    ]),
  )}`;
}

export function formatTable(results: Results): string {
  const { cli, throughput, footprint, scaling, celery, autoscale, failed = {} } = results;
  const sections = [
    `${results.date.slice(0, 10)}, Node ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel ?? 'CPU'}`,
    cli &&
      `**CLI** (median of ${cli.runs} alternated runs)\n\n${table(
        ['command', 'ms'],
        [...Object.entries(cli.startupMs), ...Object.entries(cli.generationMs)].map(([command, ms]) => [
          `\`${command}\``,
          ms,
        ]),
      )}`,
    throughput &&
      `**Worker throughput**, one process at concurrency ${throughput.concurrency}, local SQS (fauxqs) in its own process; ${throughput.scenarios
        .map(({ name, messages }) => `${name}: ${messages} tasks`)
        .join(
          ', ',
        )}; sleeping tasks take 10–100 ms (limit C ÷ mean = ${throughput.physicalLimitPerSecond}/s${throughput.inProcessPoolPerSecond ? `; the same sleeps in an in-process pool with no SQS: ${throughput.inProcessPoolPerSecond}/s` : ''})\n\n${table(
        ['tasks', 'consumer', 'msgs/s', 'p50 ms', 'p99 ms', 'peak RSS MB'],
        Object.entries(throughput.results).flatMap(([scenario, byConsumer]) =>
          Object.entries(byConsumer).map(([consumer, run]) => [
            scenario,
            consumer,
            run.perSecond,
            run.p50Ms,
            run.p99Ms,
            run.peakRssMb,
          ]),
        ),
      )}`,
    footprint && formatFootprint(footprint),
    ...(scaling ? formatScaling(scaling) : []),
    celery && formatCelery(celery),
    autoscale && formatAutoscale(autoscale),
    ...Object.entries(failed).map(([name, why]) => `**${name}**: failed (${why}), so its results are missing`),
    `**Ratios**\n\n${table(
      ['', 'ratio', 'target', ''],
      results.targets.map(({ what, ratio, target, met }) => [
        what,
        ratio,
        target,
        met === null ? '' : met ? 'met' : '**not met**',
      ]),
    )}`,
  ];
  return sections.filter(Boolean).join('\n\n');
}

// The pure parts of `npm run bench`: the scaling tables and the SVG chart, from a small fixture.
import { describe, expect, it } from 'vitest';
import type { Autoscale } from '../bench/autoscale.ts';
import type { Drained } from '../bench/celery.ts';
import { drawChart, scalingPanels } from '../bench/chart.ts';
import type { Scaling, ScalingPoint } from '../bench/scaling.ts';
import { sections, steadyState } from '../bench/stats.ts';
import { formatAutoscale, formatCelery, formatFootprint, formatScaling, formatTable } from '../bench/table.ts';

const point = (overrides: Partial<ScalingPoint>): ScalingPoint => ({
  consumer: 'be-worker',
  tasks: 'noop',
  concurrency: 20,
  queues: 1,
  bodyBytes: 0,
  messages: 1000,
  perSecond: 1000,
  peakRssMb: 100,
  cpuUsPerMessage: 100,
  ...overrides,
});

const scaling: Scaling = {
  concurrency: [
    point({ concurrency: 1, perSecond: 300, cpuUsPerMessage: 150 }),
    point({ concurrency: 1, perSecond: 200, consumer: 'sdk-loop', cpuUsPerMessage: 80 }),
    point({ concurrency: 1000, perSecond: 3000 }),
    point({ concurrency: 1000, perSecond: 4000, consumer: 'sdk-loop' }),
    point({ tasks: 'sleep', concurrency: 200, perSecond: 3500, limitPerSecond: 3636 }),
    point({ tasks: 'sleep', concurrency: 200, perSecond: 2000, limitPerSecond: 3636, consumer: 'sdk-loop' }),
  ],
  queues: [point({ queues: 1, perSecond: 2000 }), point({ queues: 50, perSecond: 1000 })],
  bodySize: [point({ bodyBytes: 1024 }), point({ bodyBytes: 921_600, perSecond: 50 })],
};

const celery: Drained[] = [
  {
    contender: 'be-worker, 1 process',
    tasks: 'noop',
    messages: 3000,
    concurrency: 10,
    startToReadyMs: 500,
    perSecond: 2000,
    peakRssMb: 120,
  },
  {
    contender: 'be-worker, WORKER_PROCESSES=2',
    tasks: 'noop',
    messages: 3000,
    concurrency: 20,
    startToReadyMs: 600,
    perSecond: 3000,
    peakRssMb: 300,
  },
  {
    contender: 'Celery, prefork -c 2',
    tasks: 'noop',
    messages: 3000,
    concurrency: 2,
    startToReadyMs: 1500,
    perSecond: 300,
    peakRssMb: 180,
    workerCores: 0.8,
    emulatorCores: 0.45,
    machineCores: 1.9,
  },
  {
    contender: 'be-worker, 1 process, WORKER_CONCURRENCY=20',
    tasks: 'noop',
    messages: 3000,
    concurrency: 20,
    startToReadyMs: 500,
    perSecond: 2900,
    peakRssMb: 130,
  },
];

const autoscale: Autoscale = {
  messages: 3000,
  sleepMs: { min: 10, max: 100 },
  runs: 3,
  options: { concurrency: 10, pollingInterval: 2, minReplicaCount: 1, maxReplicaCount: 4, cooldownPeriod: 300 },
  fixed: {
    fleet: 'one fixed replica',
    minReplicaCount: 1,
    maxReplicaCount: 1,
    drainSeconds: 17.5,
    perSecond: 171,
    peakReplicas: 1,
  },
  keda: {
    fleet: 'KEDA, 1 → 4',
    minReplicaCount: 1,
    maxReplicaCount: 4,
    drainSeconds: 7,
    perSecond: 429,
    peakReplicas: 4,
  },
  speedup: 2.5,
};

describe('the bench report', () => {
  it('puts each step of be-worker beside the SDK loop, with their ratio, the share of the limit and the CPU per message', () => {
    const [byConcurrency, byQueues, byBody] = formatScaling(scaling);
    expect(byConcurrency).toContain('| noop | 1 | 1000 | 300 | 200 | 1.5 |  | 150 | 80 | 100 | 100 |');
    expect(byConcurrency).toContain('| noop | 1000 | 1000 | 3000 | 4000 | 0.75 |');
    expect(byConcurrency).toContain('| sleep | 200 | 1000 | 3500 | 2000 | 1.75 | 0.96 |');
    expect(byQueues).toContain('| 50 | 1000 | 1000 | 0.5 | 100 |');
    expect(byBody).toContain('| 900 | 1000 | 50 |');
    expect(formatCelery({ celery: '5.6.3', runs: celery })).toContain(
      '| noop | Celery, prefork -c 2 | 2 | 3000 | 300 |  | 1500 | 180 | 0.8 | 0.45 | 1.9 |',
    );
  });

  it('puts the burst drained by KEDA-scaled replicas beside one fixed replica, with the ScaledObject it used', () => {
    const table = formatAutoscale(autoscale);
    expect(table).toContain('3000 tasks of 10–100 ms');
    expect(table).toContain('queueLength 10 (WORKER_CONCURRENCY 10 × 1 process), pollingInterval 2 s');
    expect(table).toContain('| one fixed replica | 1–1 | 17.5 | 171 | 1 | 1 |');
    expect(table).toContain('| KEDA, 1 → 4 | 1–4 | 7 | 429 | 4 | 2.5 |');
    const report = formatTable({
      date: '2026-12-06T00:00:00Z',
      machine: { node: 'v24', cpus: 2 },
      autoscale,
      targets: [],
    });
    expect(report).toContain(table);
    expect(report).not.toMatch(/undefined|NaN/);
  });

  it('draws one line per consumer in each panel, points where the data is, and the target rule', () => {
    const svg = drawChart('bench', scalingPanels(scaling, celery));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<g>/g)).toHaveLength(6);
    // sleep (2 series), no-op (2), RSS (2), queues (1), body size (1), processes (2)
    expect(svg.match(/<polyline/g)).toHaveLength(10);
    expect(svg.match(/<circle/g)).toHaveLength(2 + 4 + 4 + 2 + 2 + 3);
    expect(svg).toContain('target 0.97');
    expect(svg).toContain('10–100 ms tasks: throughput ÷ (C ÷ mean)');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('measures the steady state from a tenth of the messages gone, or from the start when that was never seen', async () => {
    let cpu = 1;
    const clocks = async () => ({ worker: cpu });
    const seen = await steadyState(100, clocks);
    cpu = 2;
    await seen.saw(95); // not yet a tenth gone
    cpu = 3;
    await seen.saw(88);
    cpu = 7;
    await seen.saw(50);
    const measured = await seen.end();
    expect(measured.messages).toBe(88);
    expect(measured.cpuSeconds.worker).toBe(4);
    expect(measured.perSecond).toBeGreaterThan(0);

    cpu = 1;
    const quick = await steadyState(100, clocks);
    cpu = 6;
    const fromStart = await quick.end();
    expect(fromStart.messages).toBe(100);
    expect(fromStart.cpuSeconds.worker).toBe(5);
  });

  it('shows each generated worker, the libraries largest first, and a row left out with its reason', () => {
    const worker = { nodeModulesMb: 200, startupMs: 250, idleRssMb: 80, loadRssMb: 150 };
    const text = formatFootprint({
      workers: { 'all off': worker, 'all on, no settings given': { ...worker, idleRssMb: 90 } },
      libraries: { nodeMb: 44.5, addsMb: { zod: 18.4, '@sentry/node': 53.5, pino: 8.1 } },
      notMeasured: { 'all on, every setting given': 'redis-server is not installed' },
    });
    expect(text).toContain('| all off | 200 | 250 | 80 | 150 |');
    expect(text).toContain('| all on, no settings given | 200 | 250 | 90 | 150 |');
    expect(text).toContain('all on, every setting given: not measured (redis-server is not installed)');
    expect(text).toContain('`node` alone (44.5 MB)');
    expect(text).toMatch(/`@sentry\/node` \| 53\.5 \|\n\| `zod` \| 18\.4 \|\n\| `pino` \| 8\.1 \|/);
  });

  it('escapes what it writes as text', () => {
    const svg = drawChart('a < b & c', [{ title: 'x > y', x: 'x', logX: false, series: [] }]);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('x &gt; y');
  });

  it('keeps the results of every section when one fails, and says which failed and why', async () => {
    const logged: string[] = [];
    const { section, failed } = sections((line) => logged.push(line));
    const first = await section('Cost as work grows', async () => scaling);
    const second = await section('Against Celery', async () => {
      throw new Error('Celery >= 5.5 is missing: run .ci/celery-venv\nmore');
    });
    const third = await section('After it', async () => 42);
    expect([first, second, third]).toEqual([scaling, undefined, 42]);
    expect(failed).toEqual({ 'Against Celery': 'Celery >= 5.5 is missing: run .ci/celery-venv' });
    expect(logged).toEqual([
      'Against Celery failed: Celery >= 5.5 is missing: run .ci/celery-venv; the other sections go on',
    ]);

    const report = formatTable({
      date: '2026-12-06T00:00:00Z',
      machine: { node: 'v24', cpus: 2 },
      scaling,
      targets: [],
      failed,
    });
    expect(report).toContain('| noop | 1000 | 1000 | 3000 | 4000 | 0.75 |');
    expect(report).toContain('**Against Celery**: failed (Celery >= 5.5 is missing: run .ci/celery-venv)');
    expect(report).not.toMatch(/undefined/);
  });
});

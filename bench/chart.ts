// The scaling results as one SVG of small line charts (bench/chart.svg, which the README shows):
// plain string building, x on a log scale where the steps grow tenfold.
import { xml } from '../src/dashboard-picture.ts';
import type { Drained } from './celery.ts';
import type { Scaling, ScalingPoint } from './scaling.ts';

export interface Series {
  name: string;
  color: string;
  points: [x: number, y: number][];
}

export interface Panel {
  title: string;
  x: string;
  logX: boolean;
  series: Series[];
  /** A dashed horizontal line, e.g. a target. */
  rule?: { y: number; label: string };
}

const W = 330;
const H = 210;
const PAD = { left: 46, right: 12, top: 44, bottom: 34 };
const COLORS: Record<string, string> = { 'be-worker': '#1f77b4', 'sdk-loop': '#ff7f0e', Celery: '#2ca02c' };

const fmt = (value: number) =>
  value >= 10_000
    ? `${Math.round(value / 1000)}k`
    : value >= 100
      ? String(Math.round(value))
      : String(+value.toFixed(2));

function drawPanel(panel: Panel, left: number, top: number): string {
  const xs = panel.series.flatMap((each) => each.points.map(([x]) => x));
  const ys = [...panel.series.flatMap((each) => each.points.map(([, y]) => y)), panel.rule?.y ?? 0];
  const tx = (value: number) => (panel.logX ? Math.log10(Math.max(value, 1e-9)) : value);
  const [x0, x1] = [Math.min(...xs.map(tx)), Math.max(...xs.map(tx))];
  const y1 = Math.max(...ys) * 1.1 || 1;
  const px = (x: number) => left + PAD.left + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const py = (y: number) => top + H - PAD.bottom - (y / y1) * (H - PAD.top - PAD.bottom);
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  const parts = [
    `<rect x="${left}" y="${top}" width="${W}" height="${H}" fill="#fff" stroke="#ddd"/>`,
    `<text x="${left + 8}" y="${top + 17}" font-size="12" font-weight="bold">${xml(panel.title)}</text>`,
    `<line x1="${left + PAD.left}" y1="${py(0)}" x2="${left + W - PAD.right}" y2="${py(0)}" stroke="#999"/>`,
    ...ticks.map(
      (x) =>
        `<text x="${px(x).toFixed(1)}" y="${top + H - PAD.bottom + 13}" font-size="10" text-anchor="middle">${fmt(x)}</text>`,
    ),
    `<text x="${left + PAD.left + (W - PAD.left - PAD.right) / 2}" y="${top + H - 6}" font-size="10" text-anchor="middle" fill="#555">${xml(panel.x)}</text>`,
    ...[0.5, 1].map(
      (share) =>
        `<text x="${left + PAD.left - 4}" y="${(py(share * y1 * 0.9) + 3).toFixed(1)}" font-size="10" text-anchor="end">${fmt(share * y1 * 0.9)}</text>`,
    ),
  ];
  if (panel.rule) {
    const y = py(panel.rule.y).toFixed(1);
    parts.push(
      `<line x1="${left + PAD.left}" y1="${y}" x2="${left + W - PAD.right}" y2="${y}" stroke="#c00" stroke-dasharray="4 3"/>`,
      `<text x="${left + W - PAD.right}" y="${Number(y) - 3}" font-size="9" text-anchor="end" fill="#c00">${xml(panel.rule.label)}</text>`,
    );
  }
  panel.series.forEach((each, index) => {
    const points = each.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    parts.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${each.color}" stroke-width="2"/>`,
      ...points.map((point) => {
        const [cx, cy] = point.split(',');
        return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${each.color}"/>`;
      }),
      `<text x="${left + PAD.left + index * 110}" y="${top + 33}" font-size="10" fill="${each.color}">● ${xml(each.name)}</text>`,
    );
  });
  return `<g>\n  ${parts.join('\n  ')}\n</g>`;
}

/** Panels side by side, `columns` to a row. */
export function drawChart(title: string, panels: readonly Panel[], columns = 3): string {
  const rows = Math.ceil(panels.length / columns);
  const width = columns * W + (columns + 1) * 8;
  const height = 30 + rows * (H + 8);
  const drawn = panels.map((panel, index) =>
    drawPanel(panel, 8 + (index % columns) * (W + 8), 30 + Math.floor(index / columns) * (H + 8)),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<title>${xml(title)}</title>
<rect width="${width}" height="${height}" fill="#f7f7f7"/>
<text x="8" y="20" font-size="14" font-weight="bold">${xml(title)}</text>
${drawn.join('\n')}
</svg>
`;
}

const line = (
  points: ScalingPoint[],
  consumer: ScalingPoint['consumer'],
  x: (p: ScalingPoint) => number,
  y: (p: ScalingPoint) => number,
): Series => ({
  name: consumer,
  color: COLORS[consumer] ?? '#000',
  points: points.filter((point) => point.consumer === consumer).map((point) => [x(point), y(point)]),
});

/** The bench's panels: throughput and RSS against concurrency, queues and body size; Celery. */
export function scalingPanels(scaling: Scaling, celery?: readonly Drained[]): Panel[] {
  const sleep = scaling.concurrency.filter((point) => point.tasks === 'sleep');
  const noop = scaling.concurrency.filter((point) => point.tasks === 'noop');
  const both = (points: ScalingPoint[], x: (p: ScalingPoint) => number, y: (p: ScalingPoint) => number) =>
    (['be-worker', 'sdk-loop'] as const)
      .map((consumer) => line(points, consumer, x, y))
      .filter((each) => each.points.length);
  const c = (point: ScalingPoint) => point.concurrency;
  const panels: Panel[] = [
    {
      title: '10–100 ms tasks: throughput ÷ (C ÷ mean)',
      x: 'concurrency C (log)',
      logX: true,
      series: both(sleep, c, (point) => point.perSecond / (point.limitPerSecond ?? 1)),
      rule: { y: 0.97, label: 'target 0.97' },
    },
    {
      title: 'no-op tasks: msgs/s',
      x: 'concurrency C (log)',
      logX: true,
      series: both(noop, c, (point) => point.perSecond),
    },
    {
      title: 'peak RSS MB, no-op tasks',
      x: 'concurrency C (log)',
      logX: true,
      series: both(noop, c, (point) => point.peakRssMb),
    },
    {
      title: 'no-op msgs/s at C = 20, by queue count',
      x: 'queues',
      logX: false,
      series: both(
        scaling.queues,
        (point) => point.queues,
        (point) => point.perSecond,
      ),
    },
    {
      title: 'no-op msgs/s at C = 20, by body size',
      x: 'SQS body KiB (log)',
      logX: true,
      series: both(
        scaling.bodySize,
        (point) => point.bodyBytes / 1024,
        (point) => point.perSecond,
      ),
    },
  ];
  if (celery?.length) {
    const noopRuns = celery.filter((run) => run.tasks === 'noop');
    panels.push({
      title: 'no-op msgs/s: 1 → 2 processes',
      x: 'processes',
      logX: false,
      series: [
        {
          name: 'be-worker',
          color: COLORS['be-worker'] as string,
          points: noopRuns
            .filter((run) => run.contender.startsWith('be-worker') && !run.contender.includes('WORKER_CONCURRENCY'))
            .map((run) => [run.contender.includes('=2') ? 2 : 1, run.perSecond]),
        },
        {
          name: 'Celery -c 2',
          color: COLORS.Celery as string,
          points: noopRuns.filter((run) => run.contender.startsWith('Celery')).map((run) => [2, run.perSecond]),
        },
      ],
    });
  }
  return panels;
}

/** The chart of a run's results: what run.ts writes, and `node bench/chart.ts` draws again from bench/results.json. */
export function chartOf(results: { date: string; scaling: Scaling; celery?: { runs: Drained[] } }): string {
  return drawChart(
    `npm run bench, ${results.date.slice(0, 10)}: cost as work grows`,
    scalingPanels(results.scaling, results.celery?.runs),
  );
}

if (import.meta.main) {
  const { readFile, writeFile } = await import('node:fs/promises');
  const results = JSON.parse(await readFile(new URL('results.json', import.meta.url), 'utf8'));
  await writeFile(new URL('chart.svg', import.meta.url), chartOf(results));
}

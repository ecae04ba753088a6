// The results as Markdown tables: what `npm run bench` prints and the README shows.

interface Results {
  date: string;
  machine: { node: string; cpus: number; cpuModel?: string | undefined };
  cli: { runs: number; startupMs: Record<string, number>; generationMs: Record<string, number> };
  throughput: {
    concurrency: number;
    physicalLimitPerSecond: number;
    scenarios: { name: string; messages: number }[];
    results: Record<string, Record<string, { perSecond: number; p50Ms: number; p99Ms: number; peakRssMb: number }>>;
  };
  footprint: Record<string, unknown>;
  targets: { what: string; ratio: number; target: string; met: boolean | null }[];
}

const table = (head: string[], rows: (string | number)[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

export function formatTable(results: Results): string {
  const { cli, throughput, footprint } = results;
  const sections = [
    `${results.date.slice(0, 10)}, Node ${results.machine.node}, ${results.machine.cpus} × ${results.machine.cpuModel ?? 'CPU'}`,
    `**CLI** (median of ${cli.runs} alternated runs)\n\n${table(
      ['command', 'ms'],
      [...Object.entries(cli.startupMs), ...Object.entries(cli.generationMs)].map(([command, ms]) => [
        `\`${command}\``,
        ms,
      ]),
    )}`,
    `**Worker throughput**, one process at concurrency ${throughput.concurrency}, local SQS (fauxqs) in its own process; ${throughput.scenarios
      .map(({ name, messages }) => `${name}: ${messages} tasks`)
      .join(', ')}; sleeping tasks take 10–100 ms (limit C ÷ mean = ${throughput.physicalLimitPerSecond}/s)\n\n${table(
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
    `**Generated worker** (\`node dist/main.js\`)\n\n${table(
      ['integrations', 'node_modules MB', 'start to ready ms', 'idle RSS MB', 'RSS at load MB'],
      Object.entries(footprint).map(([label, value]) => {
        const each = value as { nodeModulesMb: number; startupMs: number; idleRssMb: number; loadRssMb: number };
        return [label, each.nodeModulesMb, each.startupMs, each.idleRssMb, each.loadRssMb];
      }),
    )}`,
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
  return sections.join('\n\n');
}

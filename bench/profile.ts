// One scenario, be-worker beside the bare SDK loop, a few rounds in turn, for a quick ratio while
// working on the runtime's per-message cost (`npm run bench` takes ten minutes):
//   node bench/profile.ts noop 100 [rounds=3] [messages]
// BENCH_PROFILE=cpu|heap also writes each consumer process's --cpu-prof / --heap-prof to
// bench/profiles/ (open in Chrome DevTools, or summarise with bench/profile-top.ts).
import { startSqsProcess } from '../test/support/sqs.ts';
import { round } from './stats.ts';
import { runOnce, type Scenario, scenario } from './throughput.ts';

const [name = 'noop', c = '100', rounds = '3', count] = process.argv.slice(2);
const concurrency = Number(c);
const messages = Number(count ?? (name === 'noop' ? 20_000 : Math.min(10_000, Math.round((4 * concurrency) / 0.055))));
const each: Scenario = scenario(name as Scenario['name'], messages, concurrency);
const profile = process.env.BENCH_PROFILE;
const execArgv = profile
  ? [`--${profile}-prof`, '--diagnostic-dir', new URL('profiles', import.meta.url).pathname]
  : [];

const sqs = await startSqsProcess();
try {
  const rates: Record<string, number[]> = { 'be-worker': [], 'sdk-loop': [] };
  const cpu: Record<string, number[]> = { 'be-worker': [], 'sdk-loop': [] };
  for (let run = 0; run < Number(rounds); run++) {
    for (const consumer of run % 2 ? (['sdk-loop', 'be-worker'] as const) : (['be-worker', 'sdk-loop'] as const)) {
      const result = await runOnce(sqs, consumer, each, execArgv);
      rates[consumer]?.push(result.perSecond);
      cpu[consumer]?.push(result.cpuUsPerMessage);
      console.log(
        `${name} C=${concurrency} n=${messages} ${consumer}: ${result.perSecond}/s, ${result.cpuUsPerMessage} µs CPU/msg, peak ${result.peakRssMb} MB`,
      );
    }
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
  const ratios = rates['be-worker']?.map((rate, index) => round(rate / (rates['sdk-loop']?.[index] ?? 1)));
  console.log(
    `ratio be-worker ÷ sdk-loop per round: ${ratios?.join(' ')}; medians ${round(median(rates['be-worker'] ?? []) / median(rates['sdk-loop'] ?? []))}`,
  );
  if (name === 'sleep') {
    const limit = concurrency / (each.sleeps.reduce((sum, ms) => sum + ms, 0) / each.sleeps.length / 1000);
    const bound = Math.min(limit, median(rates['sdk-loop'] ?? []));
    const ratio = round(median(rates['be-worker'] ?? []) / bound);
    console.log(`C ÷ mean ${round(limit, 0)}/s; be-worker ÷ min(C ÷ mean, bare loop) ${ratio}`);
  }
  console.log(
    `CPU µs/msg, median: be-worker ${median(cpu['be-worker'] ?? [])}, sdk-loop ${median(cpu['sdk-loop'] ?? [])}`,
  );
} finally {
  await sqs.stop();
}

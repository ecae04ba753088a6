// The generated worker's dashboard and alerts, checked by Prometheus' own tool (promtool, Debian's
// prometheus package): the rules load, each alert fires when it should and stays quiet when it
// should not, and every dashboard query parses and names only metrics a running worker exports.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderWorker, validateSpec } from '../src/index.ts';
import { tempDir, waitFor } from './support/process.ts';
import { type SqsProcess, send, startSqsProcess } from './support/sqs.ts';
import { killWorkers, sendNaps, setUp, startWorkerProcess } from './support/workers.ts';

// The worker of test/support/worker-process.ts is named test-worker: its metrics are test_worker_….
const P = 'test_worker';
let tree: Map<string, string>;
let dir: string;

beforeAll(async () => {
  tree = await renderWorker(
    validateSpec({
      name: 'test-worker',
      description: 'Runs test-worker tasks from SQS',
      queues: [{ queue: 'naps', task: 'nap' }],
      env: 'local',
      user: 'obs',
      region: 'us-east-1',
      packageManager: 'npm',
      integrations: [],
    }),
  );
  dir = await tempDir('cbw-observability-');
});

async function promtool(args: string[], files: Record<string, string>) {
  for (const [name, contents] of Object.entries(files)) await writeFile(join(dir, name), contents);
  const result = await execa('promtool', args, { cwd: dir, reject: false, all: true });
  return { ok: result.exitCode === 0, output: result.all ?? '' };
}

describe('docker/prometheus/alerts.yml', () => {
  it('loads in Prometheus', async () => {
    const checked = await promtool(['check', 'rules', 'alerts.yml'], {
      'alerts.yml': tree.get('docker/prometheus/alerts.yml') ?? '',
    });
    expect(checked.ok, checked.output).toBe(true);
    expect(checked.output).toContain('SUCCESS: 6 rules found');
  });

  it('fires each alert on the series that should fire it, and stays quiet on the others', async () => {
    // Annotations hold templated text; what is tested here is when each alert fires, and for which queue.
    const rules = parse(tree.get('docker/prometheus/alerts.yml') ?? '');
    for (const rule of rules.groups[0].rules) delete rule.annotations;
    const labels = { severity: 'warning', worker: 'test-worker' };
    const series = (name: string, values: string) => ({ series: name, values });
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // Dead letters appear in err-a at minute 3; err-b stays empty.
            series(`${P}_queue_messages{queue="err-a",kind="visible"}`, '0 0 0 3x20'),
            series(`${P}_queue_messages{queue="err-b",kind="visible"}`, '0x23'),
            // b's backlog grows by 10 a minute though its worker receives; c's stays at 50.
            series(`${P}_queue_messages{queue="b",kind="visible"}`, '10+10x60'),
            series(`${P}_consumer_tasks_count_total{name="t",queue="b",state="received"}`, '0+5x60'),
            series(`${P}_queue_messages{queue="c",kind="visible"}`, '50x60'),
            // c has messages and its worker receives; d has messages and nothing receives them.
            series(`${P}_consumer_tasks_count_total{name="t",queue="c",state="received"}`, '0+10x60'),
            series(`${P}_queue_messages{queue="d",kind="visible"}`, '5x60'),
            series(`${P}_consumer_tasks_count_total{name="t",queue="d",state="received"}`, '7x60'),
            // Half of e's runs fail; none of c's.
            series(`${P}_worker_tasks_count_total{name="t",queue="e",state="started"}`, '0+10x60'),
            series(`${P}_worker_tasks_count_total{name="t",queue="e",state="failed"}`, '0+5x60'),
            series(`${P}_worker_tasks_count_total{name="t",queue="c",state="started"}`, '0+10x60'),
            series(`${P}_worker_tasks_count_total{name="t",queue="c",state="failed"}`, '0x60'),
            // f's tasks wait 5 to 15 minutes to start; c's less than a second.
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="f",le="300"}`, '0x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="f",le="900"}`, '0+10x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="f",le="+Inf"}`, '0+10x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="c",le="1"}`, '0+10x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="c",le="300"}`, '0+10x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="c",le="900"}`, '0+10x60'),
            series(`${P}_tasks_latency_seconds_bucket{name="t",queue="c",le="+Inf"}`, '0+10x60'),
          ],
          alert_rule_test: [
            // Pending for 5 minutes before it fires.
            { eval_time: '6m', alertname: 'DeadLetters', exp_alerts: [] },
            { eval_time: '10m', alertname: 'DeadLetters', exp_alerts: [{ exp_labels: { ...labels, queue: 'err-a' } }] },
            {
              eval_time: '40m',
              alertname: 'BacklogGrowing',
              exp_alerts: [{ exp_labels: { ...labels, queue: 'b', kind: 'visible' } }],
            },
            {
              eval_time: '20m',
              alertname: 'NotReceiving',
              exp_alerts: [{ exp_labels: { ...labels, severity: 'critical', queue: 'd' } }],
            },
            { eval_time: '30m', alertname: 'TaskFailures', exp_alerts: [{ exp_labels: { ...labels, queue: 'e' } }] },
            { eval_time: '30m', alertname: 'SlowToStart', exp_alerts: [{ exp_labels: { ...labels, queue: 'f' } }] },
          ],
        },
      ],
    };
    const tested = await promtool(['test', 'rules', 'tests.yml'], {
      'rules.yml': stringify(rules),
      'tests.yml': stringify(tests),
    });
    expect(tested.ok, tested.output).toBe(true);
  });

  it('fires ScheduleLate when a schedule’s task has not succeeded for its period plus the margin, in no worker', async () => {
    const rules = parse(tree.get('docker/prometheus/alerts.yml') ?? '');
    for (const rule of rules.groups[0].rules) delete rule.annotations;
    const series = (name: string, values: string) => ({ series: name, values });
    const last = (schedule: string, pod: string) =>
      `${P}_schedule_last_success_timestamp_seconds{schedule="${schedule}",pod="${pod}"}`;
    const interval = (schedule: string, pod: string) =>
      `${P}_schedule_interval_seconds{schedule="${schedule}",pod="${pod}"}`;
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // hourly (3600 s: late past 3600 × 1.1 + 300 = 4260 s): its watch starts at 0, it succeeds
            // at minute 60, then never again: late from minute 60 + 71 on.
            series(interval('hourly', 'a'), '3600x200'),
            series(last('hourly', 'a'), '0x59 3600x140'),
            // minutely succeeds every minute, in pod a, while pod b (started at 0) never runs it.
            series(interval('minutely', 'a'), '60x200'),
            series(interval('minutely', 'b'), '60x200'),
            series(last('minutely', 'a'), '0+60x200'),
            series(last('minutely', 'b'), '0x200'),
            // weekly: a week's period, nothing yet.
            series(interval('weekly', 'a'), '604800x200'),
            series(last('weekly', 'a'), '0x200'),
            // ended: no interval any more (its end date passed), its last success long ago.
            series(last('ended', 'a'), '0x200'),
          ],
          alert_rule_test: [
            { eval_time: '70m', alertname: 'ScheduleLate', exp_alerts: [] },
            { eval_time: '130m', alertname: 'ScheduleLate', exp_alerts: [] },
            {
              eval_time: '132m',
              alertname: 'ScheduleLate',
              exp_alerts: [{ exp_labels: { severity: 'warning', worker: 'test-worker', schedule: 'hourly' } }],
            },
            {
              eval_time: '200m',
              alertname: 'ScheduleLate',
              exp_alerts: [{ exp_labels: { severity: 'warning', worker: 'test-worker', schedule: 'hourly' } }],
            },
          ],
        },
      ],
    };
    const tested = await promtool(['test', 'rules', 'tests.yml'], {
      'rules.yml': stringify(rules),
      'tests.yml': stringify(tests),
    });
    expect(tested.ok, tested.output).toBe(true);
  });
});

describe('docker/grafana/dashboard.json', () => {
  const expressions = () => {
    const dashboard = JSON.parse(tree.get('docker/grafana/dashboard.json') ?? '{}');
    const panels = dashboard.panels as { title: string; targets: { expr: string }[] }[];
    // Grafana fills in $queue; `.*` stands for "All".
    return panels.flatMap(({ title, targets }) =>
      targets.map(({ expr }) => ({ title, expr: expr.replaceAll('$queue', '.*') })),
    );
  };

  it('has queries that all parse', async () => {
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: expressions().map(({ expr }, index) => ({ record: `dashboard:query${index}`, expr })),
        },
      ],
    };
    const checked = await promtool(['check', 'rules', 'dashboard-rules.yml'], {
      'dashboard-rules.yml': stringify(rules),
    });
    expect(checked.ok, checked.output).toBe(true);
  });

  describe('against a running worker', () => {
    let sqs: SqsProcess;
    beforeAll(async () => {
      sqs = await startSqsProcess();
    });
    afterAll(async () => {
      await killWorkers();
      await sqs?.stop();
    });

    it('names only metrics a running worker exports', async () => {
      const RUN_LOG = await setUp(sqs, 'obs', 30);
      const worker = await startWorkerProcess(sqs, 'obs', { RUN_LOG });
      // One task run, and one dead letter, so that every series has been written once.
      await sendNaps(sqs, 'obs', [0]);
      await send(sqs, 'obs-local-naps', 'not a celery message');
      await waitFor('the dead letter', async () =>
        (await worker.metrics()).includes(`${P}_dead_letters_total{`) ? true : undefined,
      );
      const exported = new Set(
        (await worker.metrics())
          .split('\n')
          .flatMap((line) => line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/)?.[1] ?? []),
      );
      const functions = new Set([
        'sum',
        'max',
        'by',
        'rate',
        'increase',
        'histogram_quantile',
        'le',
        'name',
        'queue',
        'kind',
        'state',
        'reason',
      ]);
      for (const { title, expr } of expressions()) {
        const metrics = [...expr.replace(/\{[^}]*\}|\[[^\]]*\]/g, '').matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
          .map(([token]) => token)
          .filter((token) => !functions.has(token) && !/^\d/.test(token));
        for (const metric of metrics) expect(exported, `${title}: ${metric}`).toContain(metric);
      }
    });
  });
});

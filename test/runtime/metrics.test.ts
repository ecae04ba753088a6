// The worker's own metrics, as Prometheus' checker (promtool, Debian's prometheus package) sees
// them: the names the Python template's client exposed, and nothing its linter objects to.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { requireTools } from '../support/tools.ts';

describe('createMetrics', () => {
  it('exposes the four metrics under the names the Python template exposed, and its own, lint-free for promtool', async () => {
    await requireTools(['promtool']);
    const metrics = createMetrics('image_resizer', { defaultMetrics: false });
    const labels = { name: 'resize', queue: 'images' };
    metrics.workerTasks.inc({ ...labels, state: 'succeeded' });
    metrics.consumerTasks.inc({ ...labels, state: 'received' });
    metrics.runtime.observe(labels, 0.2);
    metrics.latency.observe(labels, 1.5);
    metrics.eventLoopBlocks.inc();
    metrics.unhandledRejections.inc();
    const text = await metrics.registry.metrics();

    // prometheus_client (Python) exposes Counter('x_worker_tasks_count') as x_worker_tasks_count_total.
    const series = new Set(text.split('\n').flatMap((line) => line.match(/^([a-z_]+)[{ ]/)?.[1] ?? []));
    expect([...series].sort()).toEqual([
      'image_resizer_consumer_tasks_count_total',
      'image_resizer_event_loop_blocks_total',
      'image_resizer_tasks_latency_seconds_bucket',
      'image_resizer_tasks_latency_seconds_count',
      'image_resizer_tasks_latency_seconds_sum',
      'image_resizer_tasks_runtime_seconds_bucket',
      'image_resizer_tasks_runtime_seconds_count',
      'image_resizer_tasks_runtime_seconds_sum',
      'image_resizer_unhandled_rejections_total',
      'image_resizer_worker_tasks_count_total',
    ]);
    const checked = await execa('promtool', ['check', 'metrics'], { input: text, reject: false, all: true });
    expect(checked.all).toBe('');
    expect(checked.exitCode).toBe(0);
  });
});

// A worker process's log lines, read from its stdout as a log shipper reads them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOG_STRING } from '../../templates/worker/src/runtime/logger.ts';
import { waitFor } from '../support/process.ts';
import { type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { killWorkers, MINUTE, sendNaps, sendTasks, setUp, startWorkerProcess } from '../support/workers.ts';

afterEach(killWorkers);

/** Stops the worker (SIGTERM) and returns its stdout's lines, each checked to be one JSON object. */
async function stopAndRead(worker: Awaited<ReturnType<typeof startWorkerProcess>>) {
  worker.process.kill('SIGTERM');
  const { stdout, exitCode } = await worker.process;
  expect(exitCode, String(stdout)).toBe(0);
  const text = String(stdout).split('\n').filter(Boolean);
  return text.map((line) => ({ line, json: JSON.parse(line) as Record<string, unknown> }));
}

/** How many times `"key":` occurs at the top level of a JSON line's text (JSON.parse would keep one). */
const keyCount = (line: string, key: string) => line.split(`"${key}":`).length - 1;

describe('a worker process’s log lines', () => {
  let sqs: SqsProcess;
  beforeAll(async () => {
    sqs = await startSqsProcess();
  });
  afterAll(async () => {
    await sqs?.stop();
  });

  it(
    'name a settled task’s retries once each, the value of its run',
    async () => {
      await setUp(sqs, 'logretries', 30, 'flakes');
      const worker = await startWorkerProcess(sqs, 'logretries', {}, { queue: 'flakes', task: 'flaky' });
      // Fails its first two runs: runs with retries 0, 1 and 2.
      const [id] = await sendTasks(sqs, 'logretries', [['k', 2]], { queue: 'flakes', task: 'flaky' });
      await waitFor('its success', async () => ((await worker.metric('succeeded')) === 1 ? true : undefined), MINUTE);
      const lines = (await stopAndRead(worker)).filter(({ json }) => json.id === id);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const { line } of lines) expect(keyCount(line, 'retries'), line).toBe(1);
      const retriesOf = (message: RegExp) =>
        lines.filter(({ json }) => message.test(String(json.msg))).map(({ json }) => json.retries);
      expect(retriesOf(/^task failed; retry/)).toEqual([0, 1]);
      expect(retriesOf(/^task succeeded$/)).toEqual([2]);
    },
    2 * MINUTE,
  );

  it.each([
    ['info', false],
    ['warn', false],
    ['debug', true],
    ['trace', true],
  ])(
    'at LOG_LEVEL=%s carry a task’s result: %s',
    async (LOG_LEVEL, shown) => {
      const user = `logresult${LOG_LEVEL}`;
      await setUp(sqs, user, 30);
      const worker = await startWorkerProcess(sqs, user, { LOG_LEVEL });
      const [id] = await sendNaps(sqs, user, [7]);
      await waitFor('its success', async () => ((await worker.metric('succeeded')) === 1 ? true : undefined));
      const lines = (await stopAndRead(worker)).filter(({ json }) => json.id === id);
      const succeeded = lines.filter(({ json }) => json.msg === 'task succeeded');
      if (LOG_LEVEL === 'warn') return expect(succeeded).toEqual([]);
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]?.json.result).toBe(shown ? 7 : undefined);
      for (const { json } of lines) expect(json.result).toBe(shown && json.msg === 'task succeeded' ? 7 : undefined);
    },
    MINUTE,
  );

  it(
    'stay short for a task whose name is 200 KB: the name is cut, the line is JSON',
    async () => {
      await setUp(sqs, 'loghuge', 30);
      const worker = await startWorkerProcess(sqs, 'loghuge', {});
      const name = 'n'.repeat(200_000);
      const [id] = await sendTasks(sqs, 'loghuge', [[1]], { task: name });
      await waitFor('it to be dead-lettered', async () =>
        (await worker.metrics()).includes('reason="unknown_task"} 1') ? true : undefined,
      );
      const lines = await stopAndRead(worker);
      for (const { line } of lines) expect(line.length).toBeLessThan(10 * MAX_LOG_STRING);
      const refused = lines.filter(({ json }) => json.id === id);
      expect(refused.length).toBeGreaterThan(0);
      for (const { json } of refused) expect(json.task).toMatch(/^n{2048}… \[197952 more characters\]$/);
    },
    MINUTE,
  );
});

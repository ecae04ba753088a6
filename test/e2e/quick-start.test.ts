// The README's quick start, typed in a real terminal as a new user would: create-be-worker asks its
// questions, installs and commits; `npm run dev` in one terminal, `npm run send -- add 2 3` in
// another, and the task is counted on /metrics; Ctrl-C stops dev.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { CLI, freePort, sample, waitFor } from '../support/process.ts';
import { KEYS, killTerminals, runInTerminal, spawnInTerminal } from '../support/terminal.ts';

const MINUTES = 60_000;
let parent: string | undefined;
afterEach(killTerminals);
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

it(
  'takes a new user from create-be-worker to a task counted on /metrics',
  async () => {
    parent = await mkdtemp(join(tmpdir(), 'cbw-quick-start-'));
    // npx create-be-worker my-worker, answering each question with Enter (its default).
    const create = spawnInTerminal(CLI, ['my-worker'], parent, { BE_WORKER_USER: 'quick' });
    for (const question of ['Worker name', 'Description', 'Queues, comma-separated', 'Integrations']) {
      await create.waitFor(question);
      create.write(KEYS.ENTER);
    }
    await create.waitFor('Next steps:', 3 * MINUTES);
    expect(await create.exited, create.screen()).toBe(0);
    expect(create.screen()).toContain('npm run send -- add 2 3');

    // cd my-worker && npm run dev (its SQS and HTTP on free ports, so this test can run beside others).
    const worker = join(parent, 'my-worker');
    const env = { SQS_ENDPOINT: `http://localhost:${await freePort()}`, HTTP_PORT: String(await freePort()) };
    const dev = runInTerminal('npm', ['run', 'dev'], worker, env);
    await dev.waitFor('worker started', MINUTES);

    // In another terminal: npm run send -- add 2 3.
    const send = runInTerminal('npm', ['run', 'send', '--', 'add', '2', '3'], worker, env);
    await send.waitFor('Sent add[2,3]');
    expect(await send.exited).toBe(0);

    // curl localhost:8080/metrics
    const series = 'my_worker_worker_tasks_count_total{name="add",queue="my-worker-add",state="succeeded"}';
    await waitFor('the task on /metrics', async () =>
      sample(await (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/metrics`)).text(), series) === 1 ? true : undefined,
    );
    dev.write(KEYS.CTRL_C);
    expect(await dev.exited).toBe(0);
  },
  5 * MINUTES,
);

// `be-worker ui` as on-call uses it: the built bin in a generated worker, a real worker process on
// local-aws-sqs making dead letters with a task that fails until its fix is "deployed" (a flag
// file), and the page in Debian's Chromium (playwright-core, driving /usr/bin/chromium). Every
// state is screenshotted under test-artifacts/ui/. Then the token and CSRF refusals, over plain HTTP.
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/status.ts';
import { pageFiles } from '../../src/ui/server.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { CLI, REPO, tempDir, waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import {
  killWorkers,
  MINUTE,
  ran,
  sendTasks,
  setUp,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/workers.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const ARTIFACTS = join(REPO, 'test-artifacts', 'ui');
const CHROMIUM = '/usr/bin/chromium';
const USER = 'oncall';
const STEPS = fullQueueName('steps', { env: 'local', user: USER });
const NAPS = fullQueueName('naps', { env: 'local', user: USER });

let workerRoot: string;
let sqs: SqsProcess;
const uis = new Set<ResultPromise>();

beforeAll(async () => {
  const cwd = await tempDir();
  await execa(
    'node',
    [CLI, 'shop', '--user', USER, '--queue', 'steps:step', '--queue', 'naps:nap', '--no-install', '--no-git'],
    { cwd },
  );
  workerRoot = join(cwd, 'shop');
  sqs = await startSqsProcess({ awsLike: true });
  await createQueues(sqs, [NAPS]);
  await mkdir(ARTIFACTS, { recursive: true });
}, 2 * MINUTE);
afterAll(async () => {
  for (const ui of uis) ui.kill('SIGINT');
  await Promise.allSettled([...uis]);
  await killWorkers();
  await sqs?.stop();
});

/** `be-worker ui` in the worker; resolves with its URL once it prints it. */
async function startUi(...args: string[]): Promise<{ url: string; process: ResultPromise }> {
  const child = execa('node', [BE_WORKER, 'ui', '--endpoint', sqs.endpoint, '--region', 'us-east-1', ...args], {
    cwd: workerRoot,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
  });
  uis.add(child);
  let exited = false;
  void child.finally(() => {
    exited = true;
  });
  let output = '';
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const url = await waitFor(
    'the ui to print its URL',
    async () => {
      if (exited) throw new Error(`be-worker ui exited: ${output}`);
      return /(http:\/\/\S+\/)\n/.exec(output)?.[1];
    },
    MINUTE,
  );
  return { url, process: child };
}

async function statusJson(): Promise<StatusReport> {
  const result = await execa(
    'node',
    [BE_WORKER, 'status', '--json', '--endpoint', sqs.endpoint, '--region', 'us-east-1'],
    { cwd: workerRoot, reject: false, all: true, stdin: 'ignore', env: { AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' } },
  );
  expect(result.exitCode, result.all).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

/** The counts the page shows, per queue row, as status --json has them. */
async function pageCounts(page: Page) {
  return page.$$eval('#queues tbody tr', (rows) =>
    rows.map((row) => {
      const cell = (field: string) => row.querySelector(`[data-field="${field}"]`)?.textContent;
      return {
        name: row.getAttribute('data-queue'),
        visible: Number(cell('visible')),
        inFlight: Number(cell('inFlight')),
        delayed: Number(cell('delayed')),
      };
    }),
  );
}

/** The whole page; with a dialog open, what is on screen (the dialog's backdrop covers only that). */
const shot = (page: Page, name: string, fullPage = true) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

describe('be-worker ui in Chromium, on dead letters a real worker made', () => {
  let browser: Browser;
  let page: Page;
  let worker: WorkerProcess;
  let runLog: string;
  let fixed: string;
  let url: string;

  beforeAll(async () => {
    runLog = await setUp(sqs, USER, 30, 'steps');
    fixed = join(await tempDir('cbw-fix-'), 'deployed');
    worker = await startWorkerProcess(
      sqs,
      USER,
      { RUN_LOG: runLog, STEPS_BROKEN_UNTIL: fixed },
      { queue: 'steps', task: 'step' },
    );
    await sendTasks(
      sqs,
      USER,
      [0, 1, 2, 3, 4].map((index) => ['fix', index, 0, false]),
      { queue: 'steps', task: 'step' },
    );
    await sendTasks(sqs, USER, [['no luck'], ['still none']], { queue: 'steps', task: 'doomed' });
    await waitFor('7 dead letters', async () => ((await depth(sqs, `err-${STEPS}`)) === 7 ? true : undefined), MINUTE);
    ({ url } = await startUi('--metrics', worker.metricsUrl));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  }, 3 * MINUTE);
  afterAll(async () => browser?.close());

  it(
    'lists each queue and its err- queue with the counts of status --json, and the dead letters by reason and task',
    async () => {
      await page.goto(url);
      await page.locator(`#queues tr[data-queue="${STEPS}"]`).waitFor();
      const groups = page.locator(`table.groups[data-queue="err-${STEPS}"] tbody tr`);
      await expect.poll(() => groups.count(), { timeout: MINUTE }).toBe(2);
      expect(
        await groups.evaluateAll((rows) =>
          rows.map((row) => [...row.querySelectorAll('td')].slice(0, 3).map((cell) => cell.textContent)),
        ),
      ).toEqual([
        ['NonRetryableError', 'step', '5'],
        ['Error', 'doomed', '2'],
      ]);
      // The same moment: nothing moves now (the worker waits on an empty queue), so the page's next
      // read and status --json must agree on every row.
      const report = await statusJson();
      const expected = report.queues.map(({ name, visible, inFlight, delayed }) => ({
        name,
        visible,
        inFlight,
        delayed,
      }));
      expect(expected.map(({ name }) => name)).toEqual([STEPS, `err-${STEPS}`, NAPS, `err-${NAPS}`]);
      await expect.poll(() => pageCounts(page), { timeout: MINUTE }).toEqual(expected);
      await expect
        .poll(() => page.locator(`[data-url="${worker.metricsUrl}"] tr[data-state="dead_lettered"]`).count(), {
          timeout: MINUTE,
        })
        .toBe(1);
      await shot(page, '1-queues-and-dead-letters');
    },
    2 * MINUTE,
  );

  it(
    'opens a group: each dead letter decoded, its reason and where it came from, none consumed',
    async () => {
      await page.getByRole('button', { name: 'Open the 5 NonRetryableError dead letter(s) of task step' }).click();
      const letters = page.locator('#letters article.letter');
      await expect.poll(() => letters.count(), { timeout: MINUTE }).toBe(5);
      const first = await letters.first().textContent();
      expect(first).toContain('broken until');
      expect(first).toContain(`From${STEPS}`);
      expect(first).toMatch(/Args\[\n\s+"fix",/);
      expect(await page.locator('#letters-summary').textContent()).toContain('5 shown, of the first 7 read of 7');
      expect(await depth(sqs, `err-${STEPS}`)).toBe(7);
      await shot(page, '2-dead-letter-opened');
    },
    MINUTE,
  );

  it(
    "redrives one task's dead letters after a confirmation naming the env and the count, shows progress, and the task then runs",
    async () => {
      await writeFile(fixed, 'the fix is out\n');
      await page.getByRole('button', { name: 'Redrive the dead letters of task step' }).click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-text').textContent()).toBe(
        `Move the 5 dead letter(s) of task step (of the 7 in err-${STEPS}) to ${STEPS} in env "local", to run again from their first try?`,
      );
      // Local, as the CLI: no env to type.
      expect(await page.locator('#confirm-env-field').isVisible()).toBe(false);
      await shot(page, '3-redrive-confirmation', false);
      await page.getByRole('button', { name: 'Redrive 5' }).click();
      await expect.poll(() => dialog.getAttribute('data-state'), { timeout: MINUTE }).toBe('done');
      expect(await page.locator('#confirm-progress-text').textContent()).toContain(
        `Moved 5 message(s) of task step from err-${STEPS} to ${STEPS}.`,
      );
      await shot(page, '4-redrive-done', false);
      await waitFor(
        'the 5 redriven steps to run',
        async () => ((await ran(runLog)).filter((line) => line.endsWith(' end')).length === 5 ? true : undefined),
        MINUTE,
      );
      expect((await ran(runLog)).sort()).toEqual(
        [0, 1, 2, 3, 4].flatMap((index) => [`fix ${index} end`, `fix ${index} start 0`]).sort(),
      );
      await page.locator('#confirm-cancel').click();
      const groups = page.locator(`table.groups[data-queue="err-${STEPS}"] tbody tr`);
      await expect.poll(() => groups.count(), { timeout: MINUTE }).toBe(1);
      await expect
        .poll(() => page.locator(`[data-url="${worker.metricsUrl}"] tr[data-state="succeeded"]`).count(), {
          timeout: MINUTE,
        })
        .toBe(1);
      await shot(page, '5-after-redrive');
    },
    2 * MINUTE,
  );

  it(
    "redrives all of a queue's dead letters after confirming: they run again (and, still failing, come back)",
    async () => {
      const doomedDeadLettered = async () => {
        const text = await (await fetch(worker.metricsUrl)).text();
        return Number(
          /_worker_tasks_count_total\{name="doomed",[^}]*state="dead_lettered"\} (\d+)/.exec(text)?.[1] ?? 0,
        );
      };
      expect(await doomedDeadLettered()).toBe(2);
      await page.getByRole('button', { name: 'Redrive all 2' }).click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-text').textContent()).toBe(
        `Move the 2 message(s) of err-${STEPS} to ${STEPS} in env "local", to run again from their first try?`,
      );
      await page.getByRole('button', { name: 'Redrive 2' }).click();
      await expect.poll(() => dialog.getAttribute('data-state'), { timeout: MINUTE }).toBe('done');
      await waitFor(
        'the 2 redriven tasks to run and fail again',
        async () => ((await doomedDeadLettered()) === 4 ? true : undefined),
        2 * MINUTE,
      );
      await page.locator('#confirm-cancel').click();
      await waitFor(
        'the 2 dead letters back',
        async () => ((await depth(sqs, `err-${STEPS}`)) === 2 ? true : undefined),
        MINUTE,
      );
    },
    3 * MINUTE,
  );

  it(
    'purges with the keyboard alone, after confirming',
    async () => {
      await page.getByRole('button', { name: 'Purge 2' }).focus();
      await page.keyboard.press('Enter');
      await page.locator('#confirm').waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-text').textContent()).toBe(
        `Delete the 2 message(s) of err-${STEPS} in env "local" for good?`,
      );
      // The focus starts on Cancel: Enter alone purges nothing.
      expect(await page.evaluate('document.activeElement?.id')).toBe('confirm-cancel');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement?.id')).toBe('confirm-go');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#confirm').getAttribute('data-state'), { timeout: MINUTE }).toBe('done');
      await shot(page, '6-purged', false);
      // SQS takes up to a minute to purge.
      await waitFor('the purge', async () => ((await depth(sqs, `err-${STEPS}`)) === 0 ? true : undefined), 2 * MINUTE);
      await page.keyboard.press('Escape');
      await page.locator('#no-dead-letters').waitFor({ timeout: MINUTE });
      await expect
        .poll(() => page.locator(`tr[data-queue="err-${STEPS}"] [data-field="visible"]`).textContent(), {
          timeout: MINUTE,
        })
        .toBe('0');
      expect(await page.locator('#letters-section').isVisible()).toBe(false);
      await shot(page, '7-no-dead-letters');
    },
    2 * MINUTE,
  );
});

describe('be-worker ui: who may drive it', () => {
  let url: string;
  let base: string;
  let token: string;

  beforeAll(async () => {
    ({ url } = await startUi());
    const parsed = new URL(url);
    base = parsed.origin;
    token = parsed.pathname.split('/')[1] as string;
  }, 2 * MINUTE);

  const post = (path: string, headers: Record<string, string>, body: unknown = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const redriveAll = { action: 'redrive', queue: 'naps', confirmed: { env: 'local', messages: 0 } };

  it('binds to 127.0.0.1 only, and its URL carries a random token', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[\w-]{22}\/$/);
    expect((await fetch(`${url}api/status`)).status).toBe(200);
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal);
    if (!outside) return; // a machine with loopback only has nothing else to bind
    const refused = await fetch(`http://${outside.address}:${new URL(url).port}/${token}/`).catch(
      (error: { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(refused).toBe('ECONNREFUSED');
  });

  it('refuses a request without the token, or with another one', async () => {
    for (const path of ['/', '/api/status', `/${token.slice(1)}x/api/status`, `/api/status?token=${token}`]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ error: 'Refused: no token, or not this one.' });
    }
  });

  it('refuses what another web page asks (CSRF): a foreign Origin, a cross-site fetch, a form', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: [Record<string, string>, string][] = [
      [{ ...json, origin: 'http://evil.example' }, 'a request from another origin (http://evil.example)'],
      [{ ...json, origin: 'http://localhost:1' }, 'a request from another origin (http://localhost:1)'],
      [{ ...json, 'sec-fetch-site': 'cross-site' }, 'a request from another site (Sec-Fetch-Site: cross-site)'],
      [{ ...json, 'sec-fetch-site': 'same-site' }, 'a request from another site (Sec-Fetch-Site: same-site)'],
      [{ 'content-type': 'text/plain' }, 'a change must be asked for with a JSON body'],
    ];
    for (const [headers, reason] of cases) {
      const response = await post(`/${token}/api/operation`, headers, redriveAll);
      expect(response.status, reason).toBe(403);
      expect(await response.json()).toEqual({ error: `Refused: ${reason}.` });
    }
  });

  it('refuses a Host that is not its own (DNS rebinding), token or not', async () => {
    const answer = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(`${url}api/status`, { headers: { host: `evil.example:${new URL(url).port}` } });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.on('error', reject);
      request.end();
    });
    expect(answer).toBe(403);
  });

  it('refuses a change confirmed for another env, and moves nothing', async () => {
    const response = await post(
      `/${token}/api/operation`,
      { 'content-type': 'application/json', origin: base, 'sec-fetch-site': 'same-origin' },
      { ...redriveAll, confirmed: { env: 'prod', messages: 0 } },
    );
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      error: 'Confirmed for env "prod", but this is env "local"; nothing was changed.',
    });
  });

  it('read-only: the page has no redrive or purge, and the server refuses them', async () => {
    const readOnly = await startUi('--read-only');
    const response = await fetch(`${readOnly.url}api/operation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(readOnly.url).origin },
      body: JSON.stringify(redriveAll),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: string }).error).toContain('read-only');
    expect(await (await fetch(`${readOnly.url}api/overview`)).json()).toMatchObject({ readOnly: true, env: 'local' });
  });

  it('--host beyond loopback is said loudly, on stderr', async () => {
    const open = await startUi('--host', '0.0.0.0');
    expect(open.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\//);
    open.process.kill('SIGINT');
    const result = await open.process;
    expect(result.stderr).toContain('⚠ Listening on 0.0.0.0, beyond this machine');
  });

  it('ships its page: every file it serves is in the package', async () => {
    const packed = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO });
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]?.files.map(({ path }) => path);
    for (const file of pageFiles()) expect(files).toContain(`dist/ui/${file}`);
    expect(await (await fetch(url)).text()).toContain('<script type="module" src="ui.js"></script>');
  });
});

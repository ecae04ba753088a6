// The whole path a user takes, end to end: publish the packed CLI to a local npm registry, create a
// worker from it with `npm create be-worker` outside the repository (with its install and first
// commit), run the worker's own checks and the be-worker it pins, then run the compiled worker as
// its own process against a local SQS in another process, send tasks with `npm run send` and as
// Python Celery's raw bodies, read /metrics, and stop it with SIGTERM.
import { readFileSync } from 'node:fs';
import { cp, readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { provisionQueues } from '../../templates/worker/src/runtime/provision.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { freePort, REPO, sample, tempDir, waitFor } from '../support/process.ts';
import { type LocalRegistry, startRegistry } from '../support/registry.ts';
import { type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { requireTools } from '../support/tools.ts';

const FIXTURES = join(REPO, 'test', 'fixtures', 'celery-sqs');
const MINUTES = 60_000;
const succeeded = (task: string, queue: string) =>
  `my_worker_worker_tasks_count_total{name="${task}",queue="${queue}",state="succeeded"}`;

let root: string;
let worker: string;
let registry: LocalRegistry;
let version: string;
let integrity: string;
let created: string;

/** `npx be-worker …` in the worker, as its README says; npx would fetch from the registry what is not installed. */
const beWorker = (args: string[], cwd = worker) =>
  execa('npx', ['be-worker', ...args], { cwd, env: registry.env, all: true, reject: false });

/**
 * Runs a package.json script's command without npm in between, so signals reach it directly: its
 * last command, after the Node.js version check (`node scripts/check-node.cjs && …`).
 */
function runScript(name: string, env: Record<string, string>): ResultPromise {
  const pkg = JSON.parse(readFileSync(join(worker, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command = 'node', ...args] = (pkg.scripts[name] ?? '').split(' && ').at(-1)?.split(' ') ?? [];
  // No SIGKILL 5 s after a SIGTERM (execa's default): an idle worker's stop lets its open long poll
  // finish, up to RECEIVE_WAIT_SECONDS (10).
  return execa(command, args, { cwd: worker, env, reject: false, all: true, forceKillAfterDelay: false });
}

async function sendFixture(endpoint: string, queue: string, fixture: string): Promise<void> {
  const sqs = createSqsClient({ region: 'us-west-1', endpoint });
  const { body } = JSON.parse(await readFile(join(FIXTURES, `${fixture}.json`), 'utf8')) as { body: string };
  await sqs.send(new SendMessageCommand({ QueueUrl: await resolveQueueUrl(sqs, queue), MessageBody: body }));
  sqs.destroy();
}

describe('a generated worker', () => {
  beforeAll(async () => {
    root = await tempDir('cbw-e2e-');
    registry = await startRegistry();
    ({ version, integrity } = await registry.publishThisPackage());
    const result = await execa(
      'npm',
      ['create', 'be-worker@latest', 'my-worker', '--', '--queue', 'my-worker-add:add', '--queue', 'emails:send_email'],
      { cwd: root, env: { CI: 'true', npm_config_yes: 'true', ...registry.env }, all: true },
    );
    created = result.all;
    worker = join(root, 'my-worker');
  }, 10 * MINUTES);

  afterAll(() => registry?.stop());

  it('pins the create-be-worker that made it, from the registry, and runs it with npx be-worker', async () => {
    const pkg = JSON.parse(await readFile(join(worker, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['create-be-worker']).toBe(version);
    const lock = JSON.parse(await readFile(join(worker, 'package-lock.json'), 'utf8'));
    // The very tarball published above: another build of the same version would differ.
    expect(lock.packages['node_modules/create-be-worker']).toMatchObject({ version, integrity, dev: true });
    expect(created).not.toContain('runs from a clone');
    // From a folder inside the worker too, as npx finds the project's own bin.
    const info = await beWorker(['info'], join(worker, 'src', 'tasks'));
    expect(info.exitCode, info.all).toBe(0);
    expect(info.stdout).toContain(`my-worker at ${await realpath(worker)}`);
    expect(info.stdout).toContain(`created with create-be-worker ${version}`);
    expect((await beWorker(['--version'])).stdout.trim()).toBe(version);
    // The onboarding guide the worker's README points to comes with it.
    const readme = await readFile(join(worker, 'README.md'), 'utf8');
    const guide = /`(node_modules\/create-be-worker\/docs\/onboarding\.md)`/.exec(readme)?.[1] ?? '';
    expect(await readFile(join(worker, guide), 'utf8')).toContain('## 7. Dashboards and alerts');
  });

  it('is committed to git with its lockfile', async () => {
    const files = (await execa('git', ['ls-files'], { cwd: worker })).stdout.split('\n');
    expect(files).toContain('package-lock.json');
    expect(files).toContain('be-worker.json');
    expect(files).not.toContain('.env');
    const status = await execa('git', ['status', '--porcelain'], { cwd: worker });
    expect(status.stdout).toBe('');
  });

  it(
    'passes its own typecheck, lint, tests and build',
    async () => {
      for (const script of ['typecheck', 'lint', 'test', 'build']) {
        const result = await execa('npm', ['run', script], { cwd: worker, reject: false, all: true });
        expect(result.exitCode, `npm run ${script}:\n${result.all}`).toBe(0);
      }
      expect(await readdir(join(worker, 'dist'))).toContain('main.js');
    },
    5 * MINUTES,
  );

  describe('its compiled worker, against SQS in another process', () => {
    let sqsProcess: SqsProcess;
    let workerProcess: ResultPromise;
    let env: Record<string, string>;
    let metricsUrl: string;

    beforeAll(async () => {
      sqsProcess = await startSqsProcess();
      const { endpoint } = sqsProcess;
      await provisionQueues(createSqsClient({ region: 'us-west-1', endpoint }), [
        'e2e-local-my-worker-add',
        'e2e-local-emails',
      ]);

      const httpPort = await freePort();
      metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
      env = {
        APP_ENV: 'local',
        BE_WORKER_USER: 'e2e',
        AWS_REGION: 'us-west-1',
        SQS_ENDPOINT: endpoint,
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'info',
      };
      // What `npm start` runs, as a container runs it: signals reach the worker itself.
      workerProcess = runScript('start', env);
      await waitFor('/readyz', async () =>
        (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok ? true : undefined,
      );
    }, 2 * MINUTES);

    afterAll(async () => {
      workerProcess?.kill('SIGKILL');
      await Promise.allSettled([workerProcess, sqsProcess?.stop()]);
    });

    const metricValue = async (series: string) => sample(await (await fetch(metricsUrl)).text(), series);

    it('runs a task sent with `npm run send`', async () => {
      const sent = await execa('npm', ['run', 'send', '--', 'add', '2', '3'], { cwd: worker, env, all: true });
      expect(sent.stdout).toMatch(/Sent add\[2,3\] as [0-9a-f-]{36} to e2e-local-my-worker-add/);
      expect(
        await waitFor(
          'add to succeed',
          async () => (await metricValue(succeeded('add', 'my-worker-add'))) === 1 || undefined,
        ),
      ).toBe(true);
    });

    it('refuses to send arguments that do not match the schema', async () => {
      const sent = await execa('npm', ['run', 'send', '--', 'add', '2', 'x'], {
        cwd: worker,
        env,
        reject: false,
        all: true,
      });
      expect(sent.exitCode).toBe(1);
      expect(sent.all).toContain('args[1]');
    });

    it('runs the bodies Python Celery sends, in every encoding', async () => {
      const cases = ['add_args', 'add_kwargs', 'no_base64_at_all', 'sqs_base64_encoding_false', 'retry_retries_2'];
      for (const name of cases) await sendFixture(env.SQS_ENDPOINT ?? '', 'e2e-local-my-worker-add', name);
      const expected = 1 + cases.length;
      expect(
        await waitFor('the fixtures to succeed', async () =>
          (await metricValue(succeeded('add', 'my-worker-add'))) === expected ? expected : undefined,
        ),
      ).toBe(expected);
    });

    it('runs the other queue’s task too', async () => {
      await execa('npm', ['run', 'send', '--', 'send_email', 'hello'], { cwd: worker, env });
      expect(
        await waitFor(
          'send_email to succeed',
          async () => (await metricValue(succeeded('send_email', 'emails'))) ?? undefined,
        ),
      ).toBe(1);
    });

    it('exits 0 on SIGTERM', async () => {
      workerProcess.kill('SIGTERM');
      const result = await workerProcess;
      expect(result.all).toContain('worker stopped');
      expect(result.exitCode).toBe(0);
    });
  });

  it('stops at start-up naming a bad variable', async () => {
    const result = await runScript('start', { WORKER_CONCURRENCY: 'lots', HTTP_PORT: String(await freePort()) });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('WORKER_CONCURRENCY');
    expect(result.stderr).toContain('its value is not shown');
    expect(result.stderr).not.toContain('lots');
  });

  it(
    'runs tasks under `npm run dev` with no AWS account, from `npm run send` and from Python Celery',
    async () => {
      const httpPort = await freePort();
      const env = {
        SQS_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
        HTTP_PORT: String(httpPort),
        BE_WORKER_USER: 'dev-e2e',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
      };
      const dev = runScript('dev', env);
      try {
        const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
        await waitFor('the dev worker to be ready', async () =>
          (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok ? true : undefined,
        );
        await execa('npm', ['run', 'send', '--', 'add', '2', '3'], { cwd: worker, env });
        await sendFixture(env.SQS_ENDPOINT, 'dev-e2e-local-my-worker-add', 'add_args');
        expect(
          await waitFor('both tasks', async () =>
            sample(await metrics(), succeeded('add', 'my-worker-add')) === 2 ? 2 : undefined,
          ),
        ).toBe(2);
      } finally {
        dev.kill('SIGINT');
      }
      const result = await dev;
      expect(result.all).toContain('worker stopped');
      expect(result.exitCode).toBe(0);
    },
    2 * MINUTES,
  );

  it(
    'runs as the image does under docker compose: production dependencies only, queues created, then the worker',
    async () => {
      // The Dockerfile's final stage copies package.json and the lockfile, runs `npm ci --omit=dev`
      // and adds dist/; compose's worker service runs its command in it with its environment.
      const stage = await tempDir('cbw-final-stage-');
      for (const file of ['package.json', 'package-lock.json']) await cp(join(worker, file), join(stage, file));
      await cp(join(worker, 'dist'), join(stage, 'dist'), { recursive: true });
      await execa('npm', ['ci', '--omit=dev', '--no-fund', '--no-audit'], { cwd: stage });
      const dockerfile = await readFile(join(worker, 'Dockerfile'), 'utf8');
      expect(dockerfile).toContain('RUN npm ci --omit=dev');
      expect(dockerfile).toContain('CMD ["node", "dist/main.js"]');
      const { worker: service } = parse(await readFile(join(worker, 'docker-compose.yml'), 'utf8')).services;

      const sqsProcess = await startSqsProcess();
      const httpPort = String(await freePort());
      // Compose's environment, with the SQS and the port of this machine instead of the containers'.
      const env = {
        ...service.environment,
        BE_WORKER_USER: 'stage',
        SQS_ENDPOINT: sqsProcess.endpoint,
        HTTP_PORT: httpPort,
        NODE_ENV: 'production',
      };
      try {
        const running = execa(service.command[0], service.command.slice(1), {
          cwd: stage,
          env,
          reject: false,
          all: true,
          forceKillAfterDelay: false,
        });
        try {
          await waitFor('/healthz', async () =>
            (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok ? true : undefined,
          );
          await sendFixture(sqsProcess.endpoint, 'stage-local-my-worker-add', 'add_args');
          const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
          expect(
            await waitFor('the task', async () => sample(await metrics(), succeeded('add', 'my-worker-add'))),
          ).toBe(1);
          // Prometheus' own checker parses and lints what it scrapes. It exits 3 on lint findings
          // alone; prom-client's default nodejs_active_*_total gauges are its only ones.
          await requireTools(['promtool']);
          const checked = await execa('promtool', ['check', 'metrics'], {
            input: await metrics(),
            reject: false,
            all: true,
          });
          const findings = checked.all
            .split('\n')
            .filter((line) => line && !/^nodejs_active_\w+_total non-counter/.test(line));
          expect(findings).toEqual([]);
          expect([0, 3]).toContain(checked.exitCode);
        } finally {
          running.kill('SIGTERM');
          const { exitCode, all } = await running;
          expect(exitCode, all).toBe(0);
          expect(all).toContain('stage-local-emails');
        }
      } finally {
        await sqsProcess.stop();
      }
    },
    3 * MINUTES,
  );

  describe('after be-worker add-queue, on hand-edited files', () => {
    beforeAll(async () => {
      // The team's own edits: a comment, fields reordered.
      const queuesPath = join(worker, 'src', 'config', 'queues.ts');
      const queues = await readFile(queuesPath, 'utf8');
      await writeFile(
        queuesPath,
        queues
          .replace('export const queues', '// Owned by the payments team.\nexport const queues')
          .replace("    queue: 'emails',\n    task: 'send_email',", "    task: 'send_email',\n    queue: 'emails',"),
      );
      // No --ratelimit: this worker has no ratelimit integration, and add-queue refuses a name nothing enforces.
      const added = await beWorker(['add-queue', 'refunds']);
      expect(added.exitCode, added.all).toBe(0);
    }, MINUTES);

    it(
      'keeps the hand edits, and still passes typecheck, lint and tests',
      async () => {
        const queues = await readFile(join(worker, 'src', 'config', 'queues.ts'), 'utf8');
        expect(queues).toContain('// Owned by the payments team.');
        expect(queues).toContain("    task: 'send_email',\n    queue: 'emails',");
        expect(queues).toContain("    queue: 'refunds',\n    task: 'refunds',\n  },");
        expect(await readFile(join(worker, 'README.md'), 'utf8')).toContain(
          '| `emails` | `send_email` | `prod-emails` | `err-prod-emails` |\n| `refunds` | `refunds` | `prod-refunds` | `err-prod-refunds` |\n',
        );
        for (const script of ['typecheck', 'lint', 'test', 'build']) {
          const result = await execa('npm', ['run', script], { cwd: worker, reject: false, all: true });
          expect(result.exitCode, `npm run ${script}:\n${result.all}`).toBe(0);
        }
      },
      5 * MINUTES,
    );

    it(
      'provisions the new queue with be-worker and consumes from it',
      async () => {
        const sqsProcess = await startSqsProcess();
        const { endpoint } = sqsProcess;
        const httpPort = await freePort();
        const env = { APP_ENV: 'local', BE_WORKER_USER: 'added', SQS_ENDPOINT: endpoint, HTTP_PORT: String(httpPort) };
        try {
          const provisioned = await beWorker(['provision', '--endpoint', endpoint, '--user', 'added']);
          expect(provisioned.exitCode, provisioned.all).toBe(0);
          expect(provisioned.stdout).toMatch(/added-local-refunds\s+queue\s+created/);
          const running = runScript('start', env);
          try {
            await waitFor('/readyz', async () =>
              (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok ? true : undefined,
            );
            await execa('npm', ['run', 'send', '--', 'refunds', 'hello'], { cwd: worker, env });
            const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
            expect(
              await waitFor('refunds to succeed', async () => sample(await metrics(), succeeded('refunds', 'refunds'))),
            ).toBe(1);
          } finally {
            running.kill('SIGTERM');
            await running;
          }
        } finally {
          await sqsProcess.stop();
        }
      },
      2 * MINUTES,
    );
  });
});

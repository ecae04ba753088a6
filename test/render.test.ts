// What a worker is made of, before anything touches the disk.
import { describe, expect, it } from 'vitest';
import { templatesOf } from '../src/identity.ts';
import { renderWorker } from '../src/render.ts';
import { type Spec, validateSpec } from '../src/spec.ts';
import { CLI_VERSION, TEMPLATE_VERSION } from '../src/version.ts';

const spec = (overrides: Partial<Spec> = {}): Spec =>
  validateSpec({
    name: 'image-resizer',
    description: 'Resizes "images"',
    queues: [
      { queue: 'image-resizer-add', task: 'add' },
      { queue: 'resize.fifo', task: 'app.tasks.resize', ratelimit: 'images' },
    ],
    env: 'local',
    user: 'alice',
    region: 'eu-west-1',
    packageManager: 'npm',
    // A ratelimit name needs the ratelimit integration.
    integrations: ['ratelimit'],
    ...overrides,
  });

describe('renderWorker', () => {
  it('lays out the worker of DESIGN §4, with a task file and a test per task', async () => {
    const tree = await renderWorker(spec());
    expect([...tree.keys()]).toEqual(
      expect.arrayContaining([
        '.env',
        '.env.example',
        '.gitignore',
        '.nvmrc',
        'Dockerfile',
        'README.md',
        'be-worker.json',
        'biome.json',
        'examples/client/send_from_python.py',
        'package.json',
        'scripts/dev.ts',
        'scripts/send.ts',
        'src/config/config.ts',
        'src/config/queues.ts',
        'src/main.ts',
        'src/runtime/codec.ts',
        'src/runtime/consumer.ts',
        'src/tasks/add.ts',
        'src/tasks/app.tasks.resize.ts',
        'src/tasks/index.ts',
        'test/tasks/add.test.ts',
        'test/tasks/app.tasks.resize.test.ts',
        'test/worker.e2e.test.ts',
      ]),
    );
    expect([...tree.keys()].filter((path) => path.endsWith('.hbs') || path.startsWith('_'))).toEqual([]);
    // Grafana's legends and Prometheus' annotations use {{ }} themselves: there, no template tag may be left.
    const ownBraces = new Set(['docker/grafana/dashboard.json', 'docker/prometheus/alerts.yml']);
    for (const [path, contents] of tree) {
      expect(contents, path).not.toMatch(
        ownBraces.has(path) ? /\{\{\s*[#/]|\{\{\s*prefix\s*\}\}|"title": "\{\{/ : /\{\{|\}\}/,
      );
    }
  });

  it('records the versions, the templates and the answers in be-worker.json', async () => {
    const tree = await renderWorker(spec());
    const answers = JSON.parse(tree.get('be-worker.json') ?? '');
    expect(answers).toEqual({
      cliVersion: CLI_VERSION,
      templateVersion: TEMPLATE_VERSION,
      templates: templatesOf(),
      answers: spec(),
    });
  });

  it('writes the answers into the files that depend on them', async () => {
    const tree = await renderWorker(spec());
    const pkg = JSON.parse(tree.get('package.json') ?? '');
    expect(pkg.name).toBe('image-resizer');
    expect(pkg.description).toBe('Resizes "images"');
    expect(tree.get('src/config/config.ts')).toContain("workerName = 'image-resizer'");
    expect(tree.get('src/config/config.ts')).toContain("region: 'eu-west-1'");
    expect(tree.get('src/config/queues.ts')).toContain(
      "queue: 'resize.fifo',\n    task: 'app.tasks.resize',\n    ratelimit: 'images',",
    );
    expect(tree.get('src/tasks/index.ts')).toContain('export const tasks: TaskDefinition[] = [add, appTasksResize];');
    expect(tree.get('src/tasks/app.tasks.resize.ts')).toContain("name: 'app.tasks.resize'");
    expect(tree.get('.env')).toContain('BE_WORKER_USER=alice');
    expect(tree.get('.env')).toMatch(/^APP_ENV=local$/m);
    expect(tree.get('.env')).not.toMatch(/^SQS_ENDPOINT=/m);
    expect(tree.get('README.md')).toContain('image_resizer_worker_tasks_count_total');
    expect(tree.get('Dockerfile')).toContain('npm ci --omit=dev');
    expect(tree.get('Dockerfile')).toMatch(/^USER node$/m);
  });

  it('lists every core variable in .env.example, each with its default', async () => {
    const { z } = await import('zod');
    const { coreEnvSchema } = await import('../templates/worker/src/runtime/config.ts');
    const example = (await renderWorker(spec())).get('.env.example') ?? '';
    const defaults = z.object(coreEnvSchema({ region: 'eu-west-1' })).parse({ BE_WORKER_USER: 'alice' });
    for (const [name, value] of Object.entries(defaults)) {
      const line = new RegExp(`^${name}=(.*)$`, 'm').exec(example);
      expect(line, name).not.toBeNull();
      if (line?.[1] && name !== 'BE_WORKER_USER' && name !== 'SQS_ENDPOINT') expect(line[1], name).toBe(String(value));
    }
    expect(example).toMatch(/^# .*127\.0\.0\.1.*\nHTTP_HOST=0\.0\.0\.0$/m);
  });

  it('keeps .env local for a shared environment: npm run dev and send stay on the local SQS', async () => {
    const tree = await renderWorker(spec({ env: 'dev' }));
    expect(tree.get('.env')).toMatch(/^APP_ENV=local$/m);
    expect(tree.get('.env')).toContain('`npm run build && APP_ENV=dev npm run start`');
    expect(tree.get('.env')).not.toMatch(/^SQS_ENDPOINT=/m);
  });

  it('uses the chosen package manager in the Dockerfile and README', async () => {
    const tree = await renderWorker(spec({ packageManager: 'pnpm' }));
    expect(tree.get('Dockerfile')).toContain('pnpm install --prod --frozen-lockfile');
    expect(tree.get('Dockerfile')).toContain('corepack enable');
    expect(tree.get('README.md')).toContain('pnpm dev');
  });

  it('hands the fleet’s task_routes (src/config/routes.ts) to the worker and to the producer', async () => {
    for (const integrations of [['ratelimit' as const], ['ratelimit' as const, 'tracing' as const]]) {
      const tree = await renderWorker(spec({ integrations }));
      expect(tree.get('src/config/routes.ts')).toMatch(/export const taskRoutes: TaskRoutes = \{/);
      expect(tree.get('src/main.ts')).toMatch(/routes: \(await import\('\.\/config\/routes\.ts'\)\)\.taskRoutes,/);
      expect(tree.get('src/producer.ts')).toMatch(/routes: taskRoutes/);
    }
  });

  it('ships the runtime byte for byte', async () => {
    const { readFile } = await import('node:fs/promises');
    const tree = await renderWorker(spec());
    const source = await readFile(new URL('../templates/worker/src/runtime/codec.ts', import.meta.url), 'utf8');
    expect(tree.get('src/runtime/codec.ts')).toBe(source);
  });
});

// What a worker is made of, before anything touches the disk.
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { templatesOf } from '../src/identity.ts';
import { INTEGRATION_NAMES } from '../src/integrations/index.ts';
import { NEW_TASK_TAKES } from '../src/options.ts';
import { renderWorker } from '../src/render.ts';
import { type Spec, validateSpec } from '../src/spec.ts';
import { CLI_VERSION, TEMPLATE_VERSION } from '../src/version.ts';
import { REPO, tempDir } from './support/process.ts';

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

  it('gives every worker src/config/schedules.ts, an empty list the worker checks at start-up, its example commented', async () => {
    for (const integrations of [['ratelimit' as const], ['ratelimit' as const, 'tracing' as const]]) {
      const tree = await renderWorker(spec({ integrations }));
      const schedules = tree.get('src/config/schedules.ts') ?? '';
      expect(schedules).toMatch(/^export const schedules: ScheduleEntry\[\] = \[$/m);
      expect(schedules).toMatch(/^\/\/ import \{ add \} from '\.\.\/tasks\/add\.ts';$/m);
      expect(schedules).toMatch(/^ {2}\/\/ {3}task: add,$/m);
      expect(tree.get('.env.example')).toMatch(/^# `npm run dev` fires the schedules .*\nLOCAL_SCHEDULES=$/m);
      expect(tree.get('src/main.ts')).toMatch(/schedules: \(await import\('\.\/config\/schedules\.ts'\)\)\.schedules,/);
    }
  });

  it('hands the fleet’s task_routes (src/config/routes.ts) to the worker and to the producer', async () => {
    for (const integrations of [['ratelimit' as const], ['ratelimit' as const, 'tracing' as const]]) {
      const tree = await renderWorker(spec({ integrations }));
      expect(tree.get('src/config/routes.ts')).toMatch(/export const taskRoutes: TaskRoutes = \{/);
      expect(tree.get('src/main.ts')).toMatch(/routes: \(await import\('\.\/config\/routes\.ts'\)\)\.taskRoutes,/);
      expect(tree.get('src/producer.ts')).toMatch(/routes: taskRoutes/);
    }
  });

  it("puts a blank line before each integration's README section, with every integration at once", async () => {
    const tree = await renderWorker(spec({ integrations: [...INTEGRATION_NAMES] }));
    const readme = String(tree.get('README.md'));
    for (const name of INTEGRATION_NAMES) expect(readme).toContain(`\n\n### ${name}\n`);
    expect(readme).not.toMatch(/\n\n\n/);
  });

  it('lays out what lists the integrations as Biome does, with every integration at once', async () => {
    const tree = await renderWorker(spec({ integrations: [...INTEGRATION_NAMES] }));
    const dir = await tempDir();
    const files = ['src/integrations/index.ts', 'src/config/config.ts', 'src/producer.ts'];
    for (const path of ['biome.json', '.gitignore', ...files]) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), tree.get(path) ?? '');
    }
    // Five hooked integrations make the list in src/integrations/index.ts longer than a line.
    expect(tree.get('src/integrations/index.ts')).toMatch(/ {2}return \[\n {4}await fluent\(config, context\),\n/);
    const biome = await execa(join(REPO, 'node_modules', '.bin', 'biome'), ['format', ...files], {
      cwd: dir,
      reject: false,
    });
    expect(biome.exitCode, biome.stdout + biome.stderr).toBe(0);
  });

  it('gives sendTask a handle with get() only with the results integration: without it, get() is a type error', async () => {
    const without = (await renderWorker(spec())).get('src/producer.ts') ?? '';
    expect(without).toMatch(/options\?: SendOptions\): Promise<SentTask>;/);
    expect(without).not.toMatch(/TaskHandle|results/);
    const withResults =
      (await renderWorker(spec({ integrations: ['ratelimit', 'results'] }))).get('src/producer.ts') ?? '';
    expect(withResults).toMatch(/options\?: SendOptions\): Promise<TaskHandle>;/);
    expect(withResults).toMatch(/results: resultBackend\(config\),/);
  });

  it('ships the runtime byte for byte', async () => {
    const { readFile } = await import('node:fs/promises');
    const tree = await renderWorker(spec());
    const source = await readFile(new URL('../templates/worker/src/runtime/codec.ts', import.meta.url), 'utf8');
    expect(tree.get('src/runtime/codec.ts')).toBe(source);
  });
});

/** The `#` comment columns of each shell block of a Markdown text, one list per block that has comments. */
function commentColumns(markdown: string): { block: string; columns: number[] }[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
  return blocks
    .map((block) => ({
      block,
      columns: block
        .split('\n')
        .map((line) => /^\S.*?\s+(#) /.exec(line))
        .filter((match) => match !== null)
        .map((match) => match.index + match[0].length - 2),
    }))
    .filter(({ columns }) => columns.length > 0);
}

describe('the quick starts', () => {
  const variants: Partial<Spec>[] = [
    {},
    { packageManager: 'pnpm' },
    { queues: [{ queue: 'my-worker-mul', task: 'mul' }], integrations: ['tracing'] },
    { queues: [{ queue: 'resize.fifo', task: 'app.tasks.resize' }], packageManager: 'pnpm', integrations: [] },
  ];

  it.each(variants)('align the # comments of each shell block in the worker README (%j)', async (overrides) => {
    const readme = (await renderWorker(spec(overrides))).get('README.md') ?? '';
    const blocks = commentColumns(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const { block, columns } of blocks) expect(new Set(columns).size, block).toBe(1);
  });

  it("align them in this repository's README too, whose send line says what a new task takes", async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const [quickStart] = commentColumns(readme);
    expect(new Set(quickStart?.columns).size, quickStart?.block).toBe(1);
    // Its `add 2 3` is no pattern for a task of another name: the prompts say the same.
    expect(quickStart?.block).toMatch(/^npm run send -- add 2 3 .*# .*/m);
    expect(quickStart?.block).toContain(NEW_TASK_TAKES);
  });

  it.each([
    { task: 'mul', packageManager: 'npm' as const },
    { task: 'add', packageManager: 'pnpm' as const },
    { task: 'app.tasks.resize', packageManager: 'npm' as const },
  ])(
    'send the worker’s first task ($task) arguments it accepts, in each shell block',
    async ({ task, packageManager }) => {
      const tree = await renderWorker(
        spec({ queues: [{ queue: 'my-worker-q', task }], packageManager, integrations: [] }),
      );
      const dir = await tempDir('cbw-send-line-');
      for (const [path, contents] of tree) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), contents);
      }
      await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const runtime = await import(join(dir, 'src', 'runtime', 'index.ts'));
      const { tasks } = (await import(join(dir, 'src', 'tasks', 'index.ts'))) as { tasks: { name: string }[] };
      const run = packageManager === 'npm' ? 'npm run' : 'pnpm';
      const lines = [...(tree.get('README.md') ?? '').matchAll(new RegExp(`^${run} send -- (\\S+) (.*?) +# `, 'gm'))];
      expect(lines).toHaveLength(2);
      for (const [line, name, words = ''] of lines) {
        expect(name, line).toBe(task);
        // Each word as scripts/send.ts reads it: JSON when it parses, a string otherwise.
        const args = words.split(' ').map((word) => {
          try {
            return JSON.parse(word) as unknown;
          } catch {
            return word;
          }
        });
        const definition = tasks.find((candidate) => candidate.name === name);
        expect(() => runtime.parseArguments(definition, args, {}), line).not.toThrow();
      }
    },
  );
});

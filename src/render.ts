// Renders the worker template into a virtual tree (path → contents), with src/templates.ts.
// Nothing touches the disk here, so a dry run and a real run share every step up to writing.
// The templates are read synchronously: a hundred small files, read several times faster than
// with the promise API, whose thread-pool round trips cost more than the reads.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricPrefix } from '../templates/worker/src/runtime/naming.ts';
import { cliDependency } from './cli-source.ts';
import { collate } from './collate.ts';
import { dashboardPicture } from './dashboard-picture.ts';
import { deployEnvs, kubeconfigVariable, renderK8s } from './deploy.ts';
import { templatesOf } from './identity.ts';
import { INTEGRATION_NAMES, INTEGRATIONS } from './integrations/index.ts';
import { commandsFor } from './package-manager.ts';
import { type Spec, taskIdentifier } from './spec.ts';
import { renderTemplate } from './templates.ts';
import type { VirtualTree } from './tree.ts';
import { CLI_VERSION, IMAGES, TEMPLATE_VERSION } from './version.ts';

const TEMPLATES = fileURLToPath(new URL('../templates/', import.meta.url));

/** npm drops some dotfiles from packages, so the template stores them under another name. */
const RENAMES: Record<string, string> = { _gitignore: '.gitignore', _env: '.env', _npmrc: '.npmrc' };

/** The answers file of a generated repo: what `be-worker` reads to know the repo. */
export const ANSWERS_FILE = 'be-worker.json';

export async function renderWorker(spec: Spec): Promise<VirtualTree> {
  const chosen = INTEGRATIONS.filter(({ name }) => spec.integrations.includes(name));
  // Each chosen integration brings its files, its README section and its .env.example lines.
  const sections = { readme: [] as string[], env: '' };
  for (const { name } of chosen) {
    sections.readme.push(readFileSync(join(TEMPLATES, 'integrations', name, 'README.md'), 'utf8').trimEnd());
    sections.env += readFileSync(join(TEMPLATES, 'integrations', name, 'env.example'), 'utf8');
  }
  // README sections one blank line apart, however each file ends.
  const integrationDocs = sections.readme.map((section) => `${section}\n`).join('\n');
  const view = { ...viewOf(spec), integrationDocs, integrationEnv: sections.env };
  const tree: VirtualTree = new Map();
  const roots = [
    join(TEMPLATES, 'worker'),
    ...(chosen.some(({ hooks }) => hooks) ? [join(TEMPLATES, 'integrations', '_any', 'files')] : []),
    ...chosen.map(({ name }) => join(TEMPLATES, 'integrations', name, 'files')),
  ];
  // Rendered in order: a later root's file replaces an earlier one's.
  const sources = roots.flatMap((root) =>
    listFiles(root).map((file) => [root, file, readFileSync(join(root, file), 'utf8')] as const),
  );
  for (const [root, file, source] of sources) {
    const path = renamed(file.endsWith('.hbs') ? file.slice(0, -'.hbs'.length) : file);
    const name = relative(TEMPLATES, join(root, file)).split(sep).join('/');
    tree.set(path, file.endsWith('.hbs') ? await renderTemplate(name, source, view) : source);
  }
  for (const task of view.tasks) {
    for (const [path, contents] of await renderTaskFiles(task.name)) tree.set(path, contents);
  }
  tree.set('package.json', withDependencies(tree.get('package.json') ?? '{}', chosen));
  for (const [path, contents] of await renderK8s(spec)) tree.set(path, contents);
  const dashboard = tree.get('docker/grafana/dashboard.json');
  if (dashboard) tree.set('docker/grafana/dashboard.svg', dashboardPicture(dashboard));
  tree.set(ANSWERS_FILE, `${JSON.stringify(answersFile(spec), null, 2)}\n`);
  return new Map([...tree].sort(([a], [b]) => collate(a, b)));
}

/** package.json with the chosen integrations' dependencies, in order, as npm writes them. */
function withDependencies(source: string, chosen: readonly { dependencies: Record<string, string> }[]): string {
  const pkg = JSON.parse(source) as { dependencies?: Record<string, string> };
  const dependencies: Record<string, string> = Object.assign(
    {},
    pkg.dependencies,
    ...chosen.map((each) => each.dependencies),
  );
  pkg.dependencies = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => collate(a, b)));
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** A task's file and its unit test, from `templates/task/`: per queue here, and for add-queue. */
export async function renderTaskFiles(name: string): Promise<VirtualTree> {
  const task = taskView(name);
  const files: VirtualTree = new Map();
  for (const [template, path] of [
    [`${task.kind}.ts.hbs`, `src/tasks/${task.file}.ts`],
    [`${task.kind}.test.ts.hbs`, `test/tasks/${task.file}.test.ts`],
  ] as const) {
    const source = readFileSync(join(TEMPLATES, 'task', template), 'utf8');
    files.set(path, await renderTemplate(`task/${template}`, source, task));
  }
  return files;
}

/** The versions, the templates rendered from (src/identity.ts) and the answers. */
export function answersFile(spec: Spec) {
  return { cliVersion: CLI_VERSION, templateVersion: TEMPLATE_VERSION, templates: templatesOf(), answers: spec };
}

/**
 * The template of a task's file: `add` is the worked example, every other task gets a schema and a
 * handler to fill in. With example arguments for its tests, the README and the next steps.
 */
export function taskTemplate(task: string): { kind: 'add' | 'task'; example: readonly (string | number)[] } {
  return task === 'add' ? { kind: 'add', example: [2, 3] } : { kind: 'task', example: ['hello'] };
}

function viewOf(spec: Spec) {
  const hooked = INTEGRATIONS.filter(({ name, hooks }) => hooks && spec.integrations.includes(name)).map(
    ({ name }) => name,
  );
  // Sorted as Biome sorts the imports of src/tasks/index.ts, so the generated code passes its lint.
  const names = [...new Set(spec.queues.map((queue) => queue.task))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tasks = names.map(taskView);
  const firstQueue = spec.queues[0];
  const first = { ...tasks.find((task) => task.name === firstQueue?.task), queue: firstQueue?.queue };
  return {
    ...spec,
    queues: spec.queues.map((queue) => ({ ratelimit: null, ...queue })),
    tasks,
    first,
    integrations: Object.fromEntries(INTEGRATION_NAMES.map((name) => [name, spec.integrations.includes(name)])),
    integrationList: spec.integrations,
    // A name with a hyphen (large-payloads) is no identifier: its module exports largePayloads.
    integrationModules: spec.integrations.map(integrationModule),
    hookedIntegrations: hooked.map(integrationModule),
    // Awaited one at a time, in order: src/integrations/index.ts says why.
    integrationCalls: hooked.map((name) => `await ${integrationModule(name).id}(config, context)`),
    local: spec.env === 'local',
    prefix: metricPrefix(spec.name),
    pm: commandsFor(spec.packageManager),
    cliVersion: CLI_VERSION,
    cliDependency: cliDependency(),
    templateVersion: TEMPLATE_VERSION,
    images: IMAGES,
    // One manual deploy job per overlay, in the worker's CI.
    deployEnvs:
      spec.deploy === 'k8s' ? deployEnvs(spec).map((env) => ({ env, kubeconfig: kubeconfigVariable(env) })) : [],
  };
}

/** An integration's file name and the identifier its module exports (`large-payloads` → `largePayloads`). */
function integrationModule(name: string): { file: string; id: string } {
  return { file: name, id: name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()) };
}

function taskView(name: string) {
  const { kind, example } = taskTemplate(name);
  return {
    name,
    kind,
    identifier: taskIdentifier(name),
    file: name,
    exampleArgs: jsLiteral(example),
    exampleShellArgs: example.join(' '),
    pythonArgs: `(${example.map(pythonLiteral).join(', ')}${example.length === 1 ? ',' : ''})`,
  };
}

function listFiles(root: string): string[] {
  const entries = readdirSync(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

function renamed(path: string): string {
  const parts = path.split('/');
  const last = parts.pop() ?? '';
  return [...parts, RENAMES[last] ?? last].join('/');
}

function jsLiteral(values: readonly unknown[]): string {
  return `[${values.map((value) => (typeof value === 'string' ? `'${value}'` : String(value))).join(', ')}]`;
}

function pythonLiteral(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

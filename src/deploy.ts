// deploy/k8s/ of a generated worker (--deploy k8s): a kustomize base and one overlay per environment,
// rendered from the answers, so that `add-queue` and `upgrade` render them again for new answers.
// The numbers come from the worker's runtime (its defaults, its stop deadline) and the bench.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { coreEnvSchema } from '../templates/worker/src/runtime/config.ts';
import { fullQueueName } from '../templates/worker/src/runtime/naming.ts';
import { processStopSeconds } from '../templates/worker/src/runtime/timing.ts';
import type { Spec } from './spec.ts';
import { renderTemplate } from './templates.ts';
import type { VirtualTree } from './tree.ts';

/** Where the manifests go in a worker. */
export const K8S_DIR = 'deploy/k8s';

const TEMPLATES = fileURLToPath(new URL('../templates/deploy/k8s/', import.meta.url));

/** terminationGracePeriodSeconds beyond the process's own stop: for the integrations to close (a trace flush). */
export const TERMINATION_MARGIN_SECONDS = 5;

/** The longest period an HPA scaling policy takes (autoscaling/v2). */
const HPA_MAX_PERIOD_SECONDS = 1800;

/**
 * One process's RSS under load, as bench/results.json's footprint measured it: with no integration
 * ("all off") and with every one switched on by its settings. test/deploy fails if the bench
 * measures more.
 */
export const MEASURED_LOAD_RSS_MB = { 'all off': 243, 'all on, every setting given': 340 } as const;

/** The worker's settings the pod sets, and that its other numbers follow. */
export interface PodSettings {
  shutdownGraceSeconds: number;
  concurrency: number;
  processes: number;
}

/** The worker's settings when its environment sets none (config.ts). */
function runtimeDefaults() {
  return z.object(coreEnvSchema({ region: 'us-west-1' })).parse({});
}

/** The runtime's own defaults (config.ts), and one process: the CPU limit is one core. */
export function defaultPodSettings(): PodSettings {
  const defaults = runtimeDefaults();
  return {
    shutdownGraceSeconds: defaults.SHUTDOWN_GRACE_SECONDS,
    concurrency: defaults.WORKER_CONCURRENCY,
    processes: defaults.WORKER_PROCESSES,
  };
}

/** Kubernetes' kill timeout: longer than the worker's longest stop, so SIGKILL never cuts a drain. */
export function terminationGracePeriodSeconds(shutdownGraceSeconds: number): number {
  return Math.ceil(processStopSeconds(shutdownGraceSeconds)) + TERMINATION_MARGIN_SECONDS;
}

/** The environments that get an overlay: dev, prod and the worker's own (never `local`, the laptop's). */
export function deployEnvs(spec: Pick<Spec, 'env'>): string[] {
  return [...new Set(['dev', 'prod', spec.env])].filter((env) => env !== 'local');
}

/** The GitLab CI/CD variable (type File) holding an env's kubeconfig: KUBECONFIG_<ENV>. */
export function kubeconfigVariable(env: string): string {
  return `KUBECONFIG_${env.toUpperCase().replaceAll('-', '_')}`;
}

/** Replicas: prod keeps one warm; the others scale to zero when their queues are empty. */
function replicaBounds(env: string): { minReplicas: number; maxReplicas: number } {
  return env === 'prod' ? { minReplicas: 1, maxReplicas: 10 } : { minReplicas: 0, maxReplicas: 3 };
}

/** Mebibytes rounded up to a multiple of 32, as a quantity. */
function mebibytes(mb: number): string {
  return `${Math.ceil(mb / 32) * 32}Mi`;
}

function podView(spec: Pick<Spec, 'integrations'>, settings: PodSettings) {
  // The bench measured no integration and every one: a worker with any is sized as with every one.
  const measured = spec.integrations.length > 0 ? 'all on, every setting given' : 'all off';
  const measuredRssMb = MEASURED_LOAD_RSS_MB[measured];
  const termination = terminationGracePeriodSeconds(settings.shutdownGraceSeconds);
  return {
    ...settings,
    httpPort: runtimeDefaults().HTTP_PORT,
    processStopSeconds: processStopSeconds(settings.shutdownGraceSeconds),
    terminationMarginSeconds: TERMINATION_MARGIN_SECONDS,
    terminationGracePeriodSeconds: termination,
    scaleDownPeriodSeconds: Math.min(termination, HPA_MAX_PERIOD_SECONDS),
    queueLength: settings.concurrency * settings.processes,
    measuredWith: measured === 'all off' ? 'with no integration' : 'with every integration switched on',
    measuredRssMb,
    memoryRequest: mebibytes(measuredRssMb * settings.processes),
    memoryLimit: mebibytes(2 * measuredRssMb * settings.processes),
    cpuRequest: `${500 * settings.processes}m`,
    cpuLimit: settings.processes,
  };
}

/** The files of deploy/k8s/ for these answers; none with --deploy none. */
export async function renderK8s(spec: Spec, settings: PodSettings = defaultPodSettings()): Promise<VirtualTree> {
  const files: VirtualTree = new Map();
  if (spec.deploy !== 'k8s') return files;
  const view = { ...spec, pod: podView(spec, settings) };
  for (const file of templateFiles('base')) {
    files.set(`${K8S_DIR}/base/${file.slice(0, -'.hbs'.length)}`, await render(`base/${file}`, view));
  }
  for (const env of deployEnvs(spec)) {
    const queues = spec.queues.map(({ queue }) => ({ fullName: fullQueueName(queue, { env, user: spec.user }) }));
    const envView = { ...view, queues, env: { name: env, namespace: `${spec.name}-${env}`, ...replicaBounds(env) } };
    for (const file of templateFiles('overlay')) {
      files.set(
        `${K8S_DIR}/overlays/${env}/${file.slice(0, -'.hbs'.length)}`,
        await render(`overlay/${file}`, envView),
      );
    }
  }
  return files;
}

function templateFiles(folder: string): string[] {
  const root = join(TEMPLATES, folder);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

function render(file: string, view: object): Promise<string> {
  return renderTemplate(`deploy/k8s/${file}`, readFileSync(join(TEMPLATES, file), 'utf8'), view);
}

// deploy/k8s/ of generated workers: every overlay builds with the kubectl on PATH and its objects
// validate against the Kubernetes and KEDA schemas, no field they do not name; the pod's kill timeout covers the worker's own
// stop for any SHUTDOWN_GRACE_SECONDS; every queue has its trigger, after add-queue too.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { execa } from 'execa';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { addQueue } from '../../src/add-queue.ts';
import { defaultPodSettings, deployEnvs, MEASURED_LOAD_RSS_MB, type PodSettings, renderK8s } from '../../src/deploy.ts';
import { renderWorker } from '../../src/render.ts';
import { readQueues } from '../../src/source/queues-file.ts';
import { type Spec, validateSpec } from '../../src/spec.ts';
import { applyTree } from '../../src/tree.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { processStopSeconds } from '../../templates/worker/src/runtime/timing.ts';
import { manifestTypeErrors } from '../support/k8s-types.ts';
import { REPO, tempDir } from '../support/process.ts';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec?: unknown };
type Container = { env: { name: string; value: string }[]; resources: { limits: { cpu: string } } };
type PodSpec = { terminationGracePeriodSeconds: number; containers: Container[] };
type Trigger = { type: string; metadata: Record<string, string>; authenticationRef: { name: string } };

/** The model that validates each kind this renders; a kind without one fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 ServiceAccount': ServiceAccount,
  'v1 Service': Service,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1 ScaledObject': ScaledObject,
  'keda.sh/v1alpha1 TriggerAuthentication': TriggerAuthentication,
};

/** The aws-sqs-queue scaler's parameters, as kedacore/keda's pkg/scalers/aws_sqs_queue_scaler.go names them. */
const SQS_SCALER_PARAMETERS = [
  'queueURL',
  'queueURLFromEnv',
  'queueLength',
  'activationQueueLength',
  'awsRegion',
  'awsEndpoint',
  'scaleOnInFlight',
  'scaleOnDelayed',
];

function spec(overrides: Partial<Spec> = {}): Spec {
  return validateSpec({
    name: 'shop',
    description: 'Ships orders',
    queues: [{ queue: 'orders', task: 'ship' }],
    env: 'local',
    user: 'ann',
    region: 'eu-west-1',
    packageManager: 'npm',
    integrations: [],
    ...overrides,
  });
}

async function generated(answers: Spec): Promise<string> {
  const dir = join(await tempDir(), answers.name);
  await applyTree(await renderWorker(answers), dir);
  return dir;
}

/** What `kubectl kustomize` builds for an overlay, parsed. */
async function build(worker: string, env: string): Promise<Manifest[]> {
  const { stdout } = await execa('kubectl', ['kustomize', join(worker, 'deploy/k8s/overlays', env)]);
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as Manifest);
}

function only<T extends Manifest>(manifests: Manifest[], kind: string): T {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
}

const podOf = (manifests: Manifest[]) =>
  only<Manifest & { spec: { template: { spec: PodSpec } } }>(manifests, 'Deployment').spec.template.spec;
const triggersOf = (manifests: Manifest[]) =>
  only<Manifest & { spec: { triggers: Trigger[] } }>(manifests, 'ScaledObject').spec.triggers;
const envOf = (container: Container | undefined, name: string) =>
  container?.env.find((variable) => variable.name === name)?.value;

/** The worker's queues as src/config/queues.ts lists them, and the queue names each overlay's triggers read. */
async function queuesAndTriggers(worker: string, answers: Spec) {
  const queues = readQueues(await readFile(join(worker, 'src/config/queues.ts'), 'utf8'));
  const byEnv = new Map<string, string[]>();
  for (const env of deployEnvs(answers)) {
    byEnv.set(
      env,
      triggersOf(await build(worker, env)).map(({ metadata }) => metadata.queueURL ?? ''),
    );
  }
  return { queues, byEnv };
}

const SETS = {
  'one queue, no integration, --env local': spec(),
  'three queues, every integration, --env staging': spec({
    env: 'staging',
    queues: [
      { queue: 'orders', task: 'ship' },
      { queue: 'invoices.fifo', task: 'bill' },
      { queue: 'emails', task: 'send', ratelimit: 'smtp' },
    ],
    integrations: ['fluent', 'ratelimit', 'sentry', 'tracing', 'vault'],
  }),
  '--env prod, tracing': spec({ env: 'prod', integrations: ['tracing'] }),
};

describe('deploy/k8s/', () => {
  it.each(Object.entries(SETS))(
    '%s: every overlay builds with kubectl kustomize and validates against the Kubernetes and KEDA schemas, with no field they do not name',
    async (_name, answers) => {
      const worker = await generated(answers);
      const envs = deployEnvs(answers);
      expect(envs).toEqual(expect.arrayContaining(['dev', 'prod']));
      if (answers.env !== 'local') expect(envs).toContain(answers.env);
      for (const env of envs) {
        const manifests = await build(worker, env);
        for (const manifest of manifests) {
          const Model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
          expect(Model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
          expect(() => new (Model as NonNullable<typeof Model>)(manifest as never).validate()).not.toThrow();
        }
        expect(await manifestTypeErrors(manifests)).toEqual([]);
        const container = podOf(manifests).containers[0];
        expect(envOf(container, 'APP_ENV')).toBe(env);
        for (const trigger of triggersOf(manifests)) {
          expect(trigger.type).toBe('aws-sqs-queue');
          expect(SQS_SCALER_PARAMETERS).toEqual(expect.arrayContaining(Object.keys(trigger.metadata)));
          expect(trigger.metadata.awsRegion).toBe(answers.region);
          expect(trigger.metadata.scaleOnInFlight).toBe('true');
          expect(trigger.authenticationRef.name).toBe(only(manifests, 'TriggerAuthentication').metadata.name);
        }
      }
    },
    60_000,
  );

  it('the schema check refuses a field the schemas do not name, at any depth, and a value of the wrong type', async () => {
    const worker = await generated(spec());
    const built = await build(worker, 'prod');
    type Deployed = Manifest & { spec: { template: { spec: PodSpec & Record<string, unknown> } } };
    /** A copy of one built object, changed by `change`. */
    const changed = <T extends Manifest>(kind: string, change: (manifest: T) => void) => {
      const copy = structuredClone(only<T>(built, kind));
      change(copy);
      return copy;
    };
    // A misspelt kill timeout, which kubernetes-models' validate() lets through.
    const misspelt = changed<Deployed>('Deployment', ({ spec }) => {
      spec.template.spec.terminationGracePeriodSecond = spec.template.spec.terminationGracePeriodSeconds;
    });
    expect(() => new Deployment(misspelt as never).validate()).not.toThrow();
    const deeper = changed<Deployed>('Deployment', ({ spec }) => {
      (spec.template.spec.containers[0] as Container & Record<string, unknown>).imagePullPolicyy = 'Always';
    });
    const wrongType = changed<Manifest & { spec: Record<string, unknown> }>('ScaledObject', ({ spec }) => {
      spec.pollingInterval = '30';
    });
    expect(await manifestTypeErrors([misspelt, deeper, wrongType])).toEqual([
      expect.stringMatching(/^Deployment .*terminationGracePeriodSecond\W* does not exist in type 'IPodSpec'/),
      expect.stringMatching(/^Deployment .*imagePullPolicyy\W* does not exist in type 'IContainer'/),
      expect.stringMatching(/^ScaledObject .*'string' is not assignable to type 'number'/),
    ]);
  }, 60_000);

  it('--deploy none renders no deploy/ and records the choice; answers without it (older workers) mean k8s', async () => {
    const none = await renderWorker(spec({ deploy: 'none' }));
    expect([...none.keys()].filter((path) => path.startsWith('deploy/'))).toEqual([]);
    expect(JSON.parse(none.get('be-worker.json') ?? '{}').answers.deploy).toBe('none');
    const { deploy: _, ...older } = spec();
    expect(validateSpec(older).deploy).toBe('k8s');
  });

  it('the resources are at least what the bench measured, and WORKER_PROCESSES=auto makes the CPU limit the process count', async () => {
    const bench = JSON.parse(await readFile(join(REPO, 'bench/results.json'), 'utf8'));
    for (const [set, rss] of Object.entries(MEASURED_LOAD_RSS_MB)) {
      expect(rss, set).toBeGreaterThanOrEqual(bench.footprint.workers[set].loadRssMb);
    }
    for (const processes of [1, 2, 7]) {
      const files = await renderK8s(spec(), { ...defaultPodSettings(), processes });
      const deployment = parseAllDocuments(files.get('deploy/k8s/base/deployment.yaml') ?? '')[0]?.toJS();
      const container = deployment.spec.template.spec.containers[0];
      expect(Number(container.resources.limits.cpu)).toBe(processes);
      // The worker reads the pod's CPU limit (its cgroup quota) and forks that many processes.
      expect(envOf(container, 'WORKER_PROCESSES')).toBe('auto');
      const requested = Number.parseInt(container.resources.requests.memory, 10);
      expect(requested).toBeGreaterThanOrEqual(MEASURED_LOAD_RSS_MB['all off'] * processes);
    }
  });
});

describe("the pod's kill timeout and the worker's stop", () => {
  const spread: PodSettings[] = [0, 1, 7.5, 14, 29.5, 30, 61, 900, 3600].flatMap((shutdownGraceSeconds) => [
    { shutdownGraceSeconds, concurrency: 10, processes: 1 },
    { shutdownGraceSeconds, concurrency: 1, processes: 3 },
    { shutdownGraceSeconds, concurrency: 1000, processes: 64 },
  ]);

  it('terminationGracePeriodSeconds outlasts the stop the worker computes from the SHUTDOWN_GRACE_SECONDS the pod sets, for a spread of settings; queueLength is what one replica works at once', async () => {
    for (const settings of spread) {
      const answers = spec({
        env: 'qa',
        queues: [
          { queue: 'orders', task: 'ship' },
          { queue: 'returns', task: 'refund' },
        ],
      });
      const files = await renderK8s(answers, settings);
      const deployment = parseAllDocuments(files.get('deploy/k8s/base/deployment.yaml') ?? '')[0]?.toJS();
      new Deployment(deployment).validate();
      const pod: PodSpec = deployment.spec.template.spec;
      const container = pod.containers[0];
      // Read back from the manifest: the value the worker will run with, not the one asked for.
      const grace = Number(envOf(container, 'SHUTDOWN_GRACE_SECONDS'));
      expect(grace).toBe(settings.shutdownGraceSeconds);
      expect(Number.isInteger(pod.terminationGracePeriodSeconds)).toBe(true);
      // At least a second beyond the longest stop: the process's exit itself, and the integrations' close.
      expect(pod.terminationGracePeriodSeconds, `grace ${grace}`).toBeGreaterThanOrEqual(processStopSeconds(grace) + 1);
      for (const env of deployEnvs(answers)) {
        const scaled = parseAllDocuments(files.get(`deploy/k8s/overlays/${env}/scaled-object.yaml`) ?? '')[0]?.toJS();
        new ScaledObject(scaled).validate();
        const perReplica =
          // WORKER_PROCESSES=auto: as many processes as the CPU limit.
          Number(envOf(container, 'WORKER_CONCURRENCY')) * Number(container?.resources.limits.cpu);
        for (const trigger of scaled.spec.triggers as Trigger[]) {
          expect(Number(trigger.metadata.queueLength)).toBe(perReplica);
        }
        const [policy] = scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies;
        // One replica per kill timeout, within what an HPA takes (1 to 1800 s).
        expect(policy).toMatchObject({ type: 'Pods', value: 1 });
        expect(policy.periodSeconds).toBe(Math.min(pod.terminationGracePeriodSeconds, 1800));
      }
    }
  });
});

describe('every queue has its trigger', () => {
  it("in every overlay, as the worker's src/config/queues.ts lists them, and after add-queue, keeping a team's edits", async () => {
    const answers = spec({ env: 'staging', queues: [{ queue: 'orders', task: 'ship' }] });
    const worker = await generated(answers);
    const before = await queuesAndTriggers(worker, answers);
    for (const [env, triggered] of before.byEnv) {
      expect(triggered).toEqual(before.queues.map(({ queue }) => fullQueueName(queue, { env, user: 'ann' })));
    }

    // The team's own edits to the deploy files are kept through add-queue.
    const prodScaling = join(worker, 'deploy/k8s/overlays/prod/scaled-object.yaml');
    await writeFile(
      prodScaling,
      (await readFile(prodScaling, 'utf8')).replace('maxReplicaCount: 10', 'maxReplicaCount: 40'),
    );
    await addQueue(worker, { queue: 'returns', task: 'refund' });

    const after = await queuesAndTriggers(worker, answers);
    expect(after.queues.map(({ queue }) => queue)).toEqual(['orders', 'returns']);
    for (const [env, triggered] of after.byEnv) {
      expect(triggered, env).toEqual(after.queues.map(({ queue }) => fullQueueName(queue, { env, user: 'ann' })));
    }
    expect(await readFile(prodScaling, 'utf8')).toContain('maxReplicaCount: 40');
  }, 60_000);

  it('add-queue refuses, changing nothing, when the team edited the lines the new trigger goes next to', async () => {
    const worker = await generated(spec());
    const devScaling = join(worker, 'deploy/k8s/overlays/dev/scaled-object.yaml');
    const edited = `${(await readFile(devScaling, 'utf8')).trimEnd().replace(/"true"$/, '"false"')}\n`;
    await writeFile(devScaling, edited);
    const queuesFile = join(worker, 'src/config/queues.ts');
    const queuesBefore = await readFile(queuesFile, 'utf8');
    await expect(addQueue(worker, { queue: 'returns', task: 'refund' })).rejects.toThrow(
      /deploy\/k8s\/overlays\/dev\/scaled-object\.yaml overlap.*nothing was changed/,
    );
    expect(await readFile(devScaling, 'utf8')).toBe(edited);
    expect(await readFile(queuesFile, 'utf8')).toBe(queuesBefore);
  });
});

// A scale-out simulation, since no cluster runs here: every pollingInterval it reads the real depth
// of each trigger's queue from a local SQS, applies KEDA's `aws-sqs-queue` rule and the HPA's
// (test/support/keda-rule.ts), and sets the replicas to what they ask: it starts a replica (a real
// worker process) when they rise, and SIGTERMs the newest when they fall, as a ReplicaSet deletes
// its newest pod, leaving it to drain and exit. Everything it decides goes into a timeline.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { sleep } from '../../templates/worker/src/runtime/timing.ts';
import { KedaScaler, queueMetric, type ScaledObjectSpec, type SqsTrigger } from './keda-rule.ts';

/** One replica of the Deployment: a running worker process. */
export interface Replica {
  /** Sends SIGTERM, as the kubelet does to a pod scaled in; resolves with its exit code. */
  stop(): Promise<number | undefined>;
}

export interface ScaleOutSpec extends ScaledObjectSpec {
  triggers: (SqsTrigger & { queueURL: string })[];
}

export interface TimelinePoint {
  /** ms since the simulation started. */
  at: number;
  /** Each trigger's metric, as KEDA computes it. */
  metrics: number[];
  /** The replicas asked for after this poll, and started and not asked to stop. */
  desired: number;
  running: number;
  /** Replicas asked to stop that have not exited yet. */
  draining: number;
}

export interface ScaleOut {
  readonly timeline: readonly TimelinePoint[];
  /** The exit codes of the replicas that have stopped, in the order they exited. */
  readonly exits: readonly (number | undefined)[];
  /** Replicas started so far. */
  started(): number;
  running(): number;
  draining(): number;
  /** Stops polling, stops the replicas left, waits for every one; throws if a replica failed to start. */
  stop(): Promise<void>;
}

export class ReplicaStartError extends Error {
  override name = 'ReplicaStartError';
}

export function startScaleOut(sqs: SQSClient, spec: ScaleOutSpec, startReplica: () => Promise<Replica>): ScaleOut {
  const scaler = new KedaScaler(spec);
  const began = Date.now();
  const timeline: TimelinePoint[] = [];
  const exits: (number | undefined)[] = [];
  /** In the order they started: the newest is the last. */
  const replicas: Promise<Replica | undefined>[] = [];
  const stopping = new Set<Promise<void>>();
  const failures: unknown[] = [];
  let started = 0;
  const stopped = new AbortController();

  const scaleTo = (desired: number) => {
    while (replicas.length < desired) {
      started++;
      replicas.push(
        startReplica().catch((error: unknown) => {
          failures.push(error);
          return undefined;
        }),
      );
    }
    while (replicas.length > desired) {
      const replica = replicas.pop() as Promise<Replica | undefined>;
      const stop: Promise<void> = replica
        .then(async (each) => {
          if (each) exits.push(await each.stop());
        })
        .finally(() => stopping.delete(stop));
      stopping.add(stop);
    }
  };

  const poll = async () => {
    const metrics = await Promise.all(
      scaler.spec.triggers.map(async (trigger, index) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: spec.triggers[index]?.queueURL,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        );
        return queueMetric(Attributes, trigger);
      }),
    );
    const desired = scaler.step(Date.now(), metrics, replicas.length);
    scaleTo(desired);
    timeline.push({ at: Date.now() - began, metrics, desired, running: replicas.length, draining: stopping.size });
  };

  const loop = (async () => {
    while (!stopped.signal.aborted) {
      // A failed read changes nothing, as KEDA keeps the replicas when its scaler errs.
      await poll().catch(() => undefined);
      await sleep(scaler.spec.pollingInterval * 1000, stopped.signal);
    }
  })();

  return {
    timeline,
    exits,
    started: () => started,
    running: () => replicas.length,
    draining: () => stopping.size,
    async stop() {
      stopped.abort();
      await loop;
      scaleTo(0);
      await Promise.all([...stopping]);
      if (failures.length > 0) {
        throw new ReplicaStartError(`${failures.length} replica(s) failed to start: ${String(failures[0])}`);
      }
    },
  };
}

// The queues a worker needs, made to exist: each dead-letter queue first, then its queue with a
// redrive policy pointing at it. Idempotent: an existing queue with the right attributes is left
// alone, one whose attributes differ is reported field by field (and fixed on request). Used by
// `npm run dev` on the local SQS and by `be-worker provision` on real AWS.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deadLetterQueueName, isFifo } from './naming.ts';
import { findQueueUrl } from './sqs.ts';

export interface QueueSettings {
  /** Receives before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Tags of every queue created (worker, env, owner). */
  tags: Record<string, string>;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = { maxReceiveCount: 5, visibilityTimeoutSeconds: 30, tags: {} };

/** Dead letters are kept as long as SQS allows: 14 days. */
const DEAD_LETTER_RETENTION = String(14 * 24 * 3600);
/** The largest message SQS takes since August 2025 (new queues still get 256 KiB unless asked). */
const MAXIMUM_MESSAGE_SIZE = String(1024 * 1024);

export interface DesiredQueue {
  name: string;
  role: 'queue' | 'dead-letter';
  /**
   * The attributes it must have. The two that name another queue by its ARN are added once the ARNs
   * are known: a queue's RedrivePolicy (to its DLQ), and a DLQ's RedriveAllowPolicy (from its queue).
   */
  attributes: Record<string, string>;
  /** For a queue: the name of its dead-letter queue. */
  deadLetter?: string;
  maxReceiveCount?: number;
  /** For a dead-letter queue: the queue whose messages it takes, the only one it redrives to. */
  source?: string;
}

export interface Drift {
  attribute: string;
  actual: string;
  expected: string;
}

export interface PlanEntry {
  name: string;
  role: DesiredQueue['role'];
  action: 'create' | 'exists' | 'drift';
  drift: Drift[];
}

export interface ApplyEntry extends PlanEntry {
  outcome: 'created' | 'unchanged' | 'fixed' | 'drift' | 'failed';
  error?: string;
}

/** For each full queue name: its dead-letter queue, then the queue. */
export function desiredQueues(fullNames: readonly string[], settings: QueueSettings): DesiredQueue[] {
  return fullNames.flatMap((name) => {
    const fifo: Record<string, string> = isFifo(name) ? { FifoQueue: 'true' } : {};
    const deadLetter = deadLetterQueueName(name);
    const size = { MaximumMessageSize: MAXIMUM_MESSAGE_SIZE };
    return [
      {
        name: deadLetter,
        role: 'dead-letter',
        attributes: { ...fifo, ...size, MessageRetentionPeriod: DEAD_LETTER_RETENTION },
        source: name,
      },
      {
        name,
        role: 'queue',
        attributes: { ...fifo, ...size, VisibilityTimeout: String(settings.visibilityTimeoutSeconds) },
        deadLetter,
        maxReceiveCount: settings.maxReceiveCount,
      },
    ] satisfies DesiredQueue[];
  });
}

/** What applying would do, queue by queue; reads only. */
export async function planQueues(sqs: SQSClient, desired: readonly DesiredQueue[]): Promise<PlanEntry[]> {
  return Promise.all(
    desired.map(async (queue) => {
      const url = await findQueueUrl(sqs, queue.name);
      if (!url) return { name: queue.name, role: queue.role, action: 'create', drift: [] } satisfies PlanEntry;
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
      );
      const drift = driftOf(queue, Attributes);
      return {
        name: queue.name,
        role: queue.role,
        action: drift.length ? 'drift' : 'exists',
        drift,
      } satisfies PlanEntry;
    }),
  );
}

/**
 * Carries out a plan in order (dead-letter queues before their queues). A failure is recorded on
 * its entry and the others go on; running again finishes the job.
 */
export async function applyPlan(
  sqs: SQSClient,
  desired: readonly DesiredQueue[],
  plan: readonly PlanEntry[],
  { fix = false, tags = {} }: { fix?: boolean; tags?: Record<string, string> } = {},
): Promise<ApplyEntry[]> {
  const results: ApplyEntry[] = [];
  for (const [index, entry] of plan.entries()) {
    const queue = desired[index];
    if (!queue) continue;
    try {
      if (entry.action === 'exists' || (entry.action === 'drift' && !fix)) {
        results.push({ ...entry, outcome: entry.action === 'exists' ? 'unchanged' : 'drift' });
        continue;
      }
      const attributes = { ...queue.attributes, ...(await redrivePolicy(sqs, queue)) };
      if (entry.action === 'create') {
        const { QueueUrl } = await sqs.send(
          new CreateQueueCommand({ QueueName: queue.name, Attributes: attributes, tags }),
        );
        // A DLQ's own ARN, which its allow policy is made from, exists only once it does.
        const allow = await redriveAllowPolicy(sqs, queue, QueueUrl);
        if (allow.RedriveAllowPolicy) await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: allow }));
        results.push({ ...entry, outcome: 'created' });
      } else {
        const url = await findQueueUrl(sqs, queue.name);
        const all: Record<string, string> = { ...attributes, ...(await redriveAllowPolicy(sqs, queue, url)) };
        const changed = Object.fromEntries(entry.drift.map(({ attribute }) => [attribute, all[attribute] ?? '']));
        await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: changed }));
        results.push({ ...entry, outcome: 'fixed' });
      }
    } catch (error) {
      results.push({ ...entry, outcome: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  return results;
}

/** Plan and apply in one go, fixing drift: what `npm run dev` and tests need. */
export async function provisionQueues(
  sqs: SQSClient,
  fullNames: readonly string[],
  settings: Partial<QueueSettings> = {},
): Promise<ApplyEntry[]> {
  const complete = { ...DEFAULT_QUEUE_SETTINGS, ...settings };
  const desired = desiredQueues(fullNames, complete);
  const results = await applyPlan(sqs, desired, await planQueues(sqs, desired), { fix: true, tags: complete.tags });
  const failed = results.filter(({ outcome }) => outcome === 'failed');
  if (failed.length) throw new Error(failed.map(({ name, error }) => `${name}: ${error}`).join('; '));
  return results;
}

async function redrivePolicy(sqs: SQSClient, queue: DesiredQueue): Promise<Record<string, string>> {
  if (!queue.deadLetter) return {};
  const url = await findQueueUrl(sqs, queue.deadLetter);
  if (!url) throw new Error(`its dead-letter queue ${queue.deadLetter} does not exist`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return {
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: Attributes?.QueueArn,
      maxReceiveCount: queue.maxReceiveCount,
    }),
  };
}

/**
 * A dead-letter queue lets only its own queue redrive from it (StartMessageMoveTask): the queue's
 * ARN is the DLQ's with the last part changed, as both are in one account and region.
 */
async function redriveAllowPolicy(
  sqs: SQSClient,
  queue: DesiredQueue,
  url: string | undefined,
): Promise<Record<string, string>> {
  if (!queue.source || !url) return {};
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const sourceArn = `${Attributes?.QueueArn?.split(':').slice(0, -1).join(':')}:${queue.source}`;
  return { RedriveAllowPolicy: JSON.stringify({ redrivePermission: 'byQueue', sourceQueueArns: [sourceArn] }) };
}

/** Planned attributes that differ; the redrive policies are compared by the queues they name. */
function driftOf(queue: DesiredQueue, actual: Record<string, string>): Drift[] {
  const drift: Drift[] = [];
  for (const [attribute, expected] of Object.entries(queue.attributes)) {
    if (actual[attribute] !== expected) drift.push({ attribute, actual: actual[attribute] ?? '(unset)', expected });
  }
  if (queue.deadLetter) {
    const expected = `${queue.deadLetter} after ${queue.maxReceiveCount} receives`;
    let current = '(none)';
    try {
      const policy = JSON.parse(actual.RedrivePolicy ?? 'null') as {
        deadLetterTargetArn?: string;
        maxReceiveCount?: unknown;
      } | null;
      if (policy)
        current = `${policy.deadLetterTargetArn?.split(':').at(-1)} after ${Number(policy.maxReceiveCount)} receives`;
    } catch {
      current = actual.RedrivePolicy ?? '(none)';
    }
    if (current !== expected) drift.push({ attribute: 'RedrivePolicy', actual: current, expected });
  }
  if (queue.source) {
    const expected = `redrive to ${queue.source} only`;
    let current = '(anyone)';
    try {
      const policy = JSON.parse(actual.RedriveAllowPolicy ?? 'null') as {
        redrivePermission?: string;
        sourceQueueArns?: string[];
      } | null;
      if (policy?.redrivePermission === 'byQueue') {
        current = `redrive to ${(policy.sourceQueueArns ?? []).map((arn) => arn.split(':').at(-1)).join(', ')} only`;
      } else if (policy) current = `redrive permission ${policy.redrivePermission}`;
    } catch {
      current = actual.RedriveAllowPolicy ?? '(anyone)';
    }
    if (current !== expected) drift.push({ attribute: 'RedriveAllowPolicy', actual: current, expected });
  }
  return drift;
}

// A worker's queues by the names people use for them: the short name of src/config/queues.ts, its
// full SQS name in an env, or its `err-` name.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, fullQueueName, type NamingContext } from '../templates/worker/src/runtime/naming.ts';
import type { QueueBinding } from '../templates/worker/src/runtime/queues.ts';
import { findQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { awsError } from './aws.ts';
import { EnvironmentError, UserError } from './errors.ts';
import { beWorkerCommand } from './package-manager.ts';

export interface WorkerQueue extends QueueBinding {
  fullName: string;
  deadLetterName: string;
}

export function workerQueues(bindings: readonly QueueBinding[], naming: NamingContext): WorkerQueue[] {
  return bindings.map((binding) => {
    const fullName = fullQueueName(binding.queue, naming);
    return { ...binding, fullName, deadLetterName: deadLetterQueueName(fullName) };
  });
}

/** The queue `name` stands for; an unknown name is refused with the names there are. */
export function workerQueueNamed(queues: readonly WorkerQueue[], name: string, env: string): WorkerQueue {
  const found = queues.find((queue) => [queue.queue, queue.fullName, queue.deadLetterName].includes(name));
  if (found) return found;
  const known = queues.map((queue) => `${queue.queue} (${queue.fullName})`).join(', ');
  throw new UserError(`This worker has no queue "${name}" in env "${env}"; its queues are: ${known}.`);
}

/** The URL of a queue that must exist: a missing one says how to create it. */
export async function queueUrl(sqs: SQSClient, name: string, env: string): Promise<string> {
  const url = await findQueueUrl(sqs, name).catch((error: unknown) => {
    throw awsError(error, `looking up the queue ${name}`);
  });
  if (url) return url;
  throw new EnvironmentError(
    `SQS queue "${name}" does not exist; create the worker's queues with ${beWorkerCommand(`provision --env ${env}`)}.`,
  );
}

// Redrives and purges started from the page: each runs in the server, through the same library
// code as `be-worker dlq redrive` / `dlq purge`, and the page follows its progress by polling.
import { randomUUID } from 'node:crypto';
import { type DlqOptions, purgeDeadLetters, type RedriveProgress, redriveDeadLetters } from '../dlq/index.ts';
import { CancelledError, UserError } from '../errors.ts';

/** What the person confirmed in the page's dialog: the env and the count it named. */
export interface Confirmation {
  env: string;
  messages: number;
}

/** Where the queues are, and whether dead letters may point at bodies in S3 (the purge deletes those). */
export type UiTarget = DlqOptions & { largePayloads?: boolean };

export interface OperationRequest {
  action: 'redrive' | 'purge';
  queue: string;
  /** Redrive only this task's dead letters. */
  task?: string | undefined;
  confirmed: Confirmation;
}

export interface Operation extends Omit<OperationRequest, 'confirmed'> {
  id: string;
  state: 'running' | 'done' | 'failed';
  progress?: RedriveProgress;
  /** What happened, in a sentence (done), or why not (failed). */
  message?: string;
  notes: string[];
}

/**
 * The CLI's confirmation rules, for a click: the dialog named the env and the count, and the
 * server checks that what it is about to do is what was shown. A purge (deleted for good) must
 * find the count the person saw; a redrive moves what is there, so only the env must match (the
 * CLI asks for redrives in shared envs only; the page asks always).
 */
export function checkConfirmed(request: OperationRequest, plan: { env: string; messages: number }): void {
  if (request.confirmed.env !== plan.env) {
    throw new UserError(
      `Confirmed for env "${request.confirmed.env}", but this is env "${plan.env}"; nothing was changed.`,
    );
  }
  if (request.action === 'purge' && request.confirmed.messages !== plan.messages) {
    throw new UserError(
      `The dead-letter queue holds ${plan.messages} message(s) now, not the ${request.confirmed.messages} confirmed; nothing was purged. Confirm again.`,
    );
  }
}

export class Operations {
  readonly #all = new Map<string, Operation>();
  readonly #stop = new AbortController();
  /** Reads of dead letters under way: each hides the messages it reads for a moment, which a redrive would miss. */
  readonly #reads = new Set<Promise<unknown>>();

  readonly #target: UiTarget;

  constructor(target: UiTarget) {
    this.#target = target;
  }

  /** Runs a read of dead letters, refused while a redrive or purge runs (it would hide what they move). */
  async read<T>(work: () => Promise<T>): Promise<T> {
    const busy = [...this.#all.values()].find((operation) => operation.state === 'running');
    if (busy)
      throw new UserError(
        `A ${busy.action} of ${busy.queue} is running; the dead letters are read again when it ends.`,
      );
    const reading = work();
    this.#reads.add(reading);
    try {
      return await reading;
    } finally {
      this.#reads.delete(reading);
    }
  }

  get(id: string): Operation | undefined {
    return this.#all.get(id);
  }

  /**
   * Starts `request` and returns it at once, running; settles when the plan was checked, so a
   * refusal (wrong env, changed count, a queue already being worked on) is the POST's answer.
   */
  async start(request: OperationRequest): Promise<Operation> {
    const busy = [...this.#all.values()].find(
      (operation) => operation.state === 'running' && operation.queue === request.queue,
    );
    if (busy) throw new UserError(`A ${busy.action} of ${busy.queue} is running; wait for it to end.`);
    // What a read hid is visible again once it ends: the redrive then sees every message.
    await Promise.allSettled([...this.#reads]);
    const operation: Operation = {
      id: randomUUID(),
      action: request.action,
      queue: request.queue,
      ...(request.task ? { task: request.task } : {}),
      state: 'running',
      notes: [],
    };
    let planChecked: () => void = () => {};
    const checked = new Promise<void>((resolve) => {
      planChecked = resolve;
    });
    const confirm = async (plan: { env: string; messages: number }) => {
      checkConfirmed(request, plan);
      this.#all.set(operation.id, operation);
      planChecked();
    };
    const options = { ...this.#target, signal: this.#stop.signal, queue: request.queue, confirm };
    const run =
      request.action === 'purge'
        ? purgeDeadLetters({ ...options, payloads: this.#target.largePayloads ?? false }).then(
            ({ messages, deadLetterQueue }) =>
              `Purged ${deadLetterQueue}: ${messages} message(s) deleted (SQS may take up to a minute).`,
          )
        : redriveDeadLetters({
            ...options,
            task: request.task,
            onProgress: (progress) => {
              operation.progress = progress;
            },
            onNote: (note) => operation.notes.push(note),
          }).then(
            ({ moved, from, to, loop }) =>
              `Moved ${moved} message(s)${request.task ? ` of task ${request.task}` : ''} from ${from} to ${to}${loop?.again ? `; ${loop.again} failed again and were dead-lettered again` : ''}.`,
          );
    const settled = run.then(
      (message) => Object.assign(operation, { state: 'done', message }),
      (error: Error) => Object.assign(operation, { state: 'failed', message: error.message }),
    );
    // Refused before it began (the plan, the queue's name, SQS): the refusal is the answer.
    await Promise.race([checked, settled]);
    if (!this.#all.has(operation.id)) await run;
    return operation;
  }

  /** Stops what runs (the server is closing): a redrive says how many moved. */
  stop(): void {
    this.#stop.abort(new CancelledError('The ui server stopped.'));
  }
}

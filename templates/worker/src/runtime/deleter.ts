// Deletes go out in batches of up to 10: one SQS call for many finished messages. An entry SQS
// failed on its side (SenderFault false) is tried again a few times, with back-off: a delete lost
// there means the message comes back after its visibility timeout, and runs again on any process
// but this one (only this one remembers it was done). An entry refused as the sender's fault (a
// receipt handle no longer valid) is not: trying again cannot fix it.
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { backoffMs, MAX_BATCH, sleep } from './timing.ts';

/** Tries per delete whose entry SQS fails on its side: at 25 % failed, one in a thousand is lost. */
export const DELETE_ATTEMPTS = 5;

interface Pending {
  receiptHandle: string;
  /** Tries so far. */
  attempts: number;
  resolve(): void;
  reject(error: Error): void;
}

export class BatchDeleter {
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  /** Aborted by `flush`: retries waiting for their back-off go at once. */
  #hurry = new AbortController();

  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  /** How long a delete may wait for others to share its call. */
  private readonly lingerMs: number;

  constructor(sqs: SQSClient, queueUrl: string, lingerMs = 5) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
    this.lingerMs = lingerMs;
  }

  /** Resolves once SQS confirms the delete; rejects with SQS's reason otherwise. */
  delete(receiptHandle: string): Promise<void> {
    return new Promise((resolve, reject) => this.#add({ receiptHandle, attempts: 0, resolve, reject }));
  }

  /** Sends what is pending, retries included, and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.#hurry.abort();
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      this.#send();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #add(entry: Pending): void {
    this.#pending.push(entry);
    if (this.#pending.length >= MAX_BATCH) this.#send();
    else this.#timer ??= setTimeout(() => this.#send(), this.lingerMs);
  }

  #send(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      const call = this.#deleteBatch(batch).finally(() => this.#inFlight.delete(call));
      this.#inFlight.add(call);
    }
  }

  async #deleteBatch(batch: Pending[]): Promise<void> {
    for (const entry of batch) entry.attempts++;
    let failed: Map<string | undefined, { Code?: string; Message?: string; SenderFault?: boolean }>;
    try {
      const output = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
        }),
      );
      failed = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
    } catch (error) {
      // The SDK has tried the call itself; the processor remembers these deletes (see processor.ts).
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    const again: Pending[] = [];
    for (const [index, entry] of batch.entries()) {
      const failure = failed.get(String(index));
      if (!failure) entry.resolve();
      else if (!failure.SenderFault && entry.attempts < DELETE_ATTEMPTS) again.push(entry);
      else {
        const tries = entry.attempts > 1 ? ` (${entry.attempts} tries)` : '';
        entry.reject(new Error(`SQS refused the delete: ${failure.Code} ${failure.Message ?? ''}`.trim() + tries));
      }
    }
    if (again.length === 0) return;
    // Still in flight while it waits, so that a flush waits for it too.
    await sleep(backoffMs(Math.max(...again.map(({ attempts }) => attempts))), this.#hurry.signal);
    for (const entry of again) this.#add(entry);
  }
}

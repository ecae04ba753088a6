// Deletes go out in batches of up to 10: one SQS call for many finished messages.
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

interface Pending {
  receiptHandle: string;
  resolve(): void;
  reject(error: Error): void;
}

export class BatchDeleter {
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();

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
    return new Promise((resolve, reject) => {
      this.#pending.push({ receiptHandle, resolve, reject });
      if (this.#pending.length >= 10) this.#send();
      else this.#timer ??= setTimeout(() => this.#send(), this.lingerMs);
    });
  }

  /** Sends what is pending and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.#send();
    await Promise.allSettled([...this.#inFlight]);
  }

  #send(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 10);
      const call = this.#deleteBatch(batch).finally(() => this.#inFlight.delete(call));
      this.#inFlight.add(call);
    }
  }

  async #deleteBatch(batch: Pending[]): Promise<void> {
    try {
      const output = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
        }),
      );
      const failed = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
      batch.forEach((entry, index) => {
        const failure = failed.get(String(index));
        if (failure) entry.reject(new Error(`SQS refused the delete: ${failure.Code} ${failure.Message ?? ''}`.trim()));
        else entry.resolve();
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
    }
  }
}

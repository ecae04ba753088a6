// A TCP proxy between a worker and its SQS, for the fault tests: it forwards, refuses connections,
// resets them, black-holes them (holds them open and answers nothing, as a brownout or a middlebox
// that dropped its state does), answers chosen SQS calls with an error — before SQS sees them, or
// after SQS has done them (the answer lost) — slows every answer down, and fails some entries of
// batch answers. Requests and answers are framed (HTTP/1.1, one request at a time per connection,
// as the AWS SDK sends them) to see which SQS call each one is and to rewrite answers.
import { connect, createServer, type Socket } from 'node:net';

export type NetworkMode = 'pass' | 'refuse' | 'reset' | 'blackhole';

/** An error answer as SQS's JSON protocol gives it. */
export type InjectedError =
  /** HTTP 500 InternalError: SQS's own passing failure. */
  | 'internal-error'
  /** HTTP 400 ThrottlingException (RequestThrottled by its Query-protocol name): over the request rate. */
  | 'throttled';

export interface InjectedFault {
  /** SQS operations (`SendMessage`, `GetQueueUrl`…) it applies to. */
  operations: readonly string[];
  error: InjectedError;
  /** The chance (0–1) that one such request gets the error. */
  probability: number;
  /**
   * before: SQS never sees the request (nothing done). after: SQS does it, and its answer is replaced
   * by the error (done, but the caller cannot know): the fault that makes a retry do it twice.
   */
  when: 'before' | 'after';
}

/** The batch calls whose answers can fail some of their entries. */
export type BatchOperation = 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch' | 'SendMessageBatch';

export interface FaultyNetwork {
  /** http://127.0.0.1:<port>: the worker's SQS_ENDPOINT. */
  endpoint: string;
  /**
   * pass: forward. refuse: stop listening (ECONNREFUSED) and close what is open. reset: close every
   * connection at once, open or new (ECONNRESET). blackhole: forward nothing either way, on open
   * connections too, and hold new ones; they stay dead after it, as on a real network.
   */
  set(mode: NetworkMode): Promise<void>;
  /** SQS operations (`DeleteMessage`, `DeleteMessageBatch`…) answered with HTTP 500; [] to forward them again. */
  fail(operations: readonly string[]): void;
  /** Error answers by chance, per operation (the first fault naming an operation applies); [] for none. */
  inject(faults: readonly InjectedFault[]): void;
  /** Every answer waits this long (ms), or a time drawn from [min, max] for each; 0 for none. */
  latency(ms: number | readonly [min: number, max: number]): void;
  /**
   * Each entry of these batch calls fails with this chance: SQS does not do it, and its answer lists
   * it in `Failed` (SenderFault false, InternalError: SQS's "try that entry again"; with `senderFault`,
   * SenderFault true, ReceiptHandleIsInvalid: "this entry is wrong"). 0 for none.
   */
  failEntries(operations: readonly BatchOperation[], fraction: number, senderFault?: boolean): void;
  /**
   * SQS operations held: after the first `after` of them, each is neither forwarded nor answered, as
   * if the process were frozen there (for killing it at an exact point).
   */
  hold(operations: readonly string[], after?: number): void;
  /**
   * Requests seen per operation, those answered with an error (`failed`; `afterCommit` of them after
   * SQS did them), batch entries failed per operation, and requests held.
   */
  counts(): {
    seen: Record<string, number>;
    failed: Record<string, number>;
    afterCommit: Record<string, number>;
    entriesFailed: Record<string, number>;
    held: number;
  };
  close(): Promise<void>;
}

const ERRORS: Record<InjectedError, { status: string; type: string; message: string; queryError?: string }> = {
  'internal-error': { status: '500 Internal Server Error', type: 'InternalError', message: 'injected by the test' },
  throttled: {
    status: '400 Bad Request',
    type: 'ThrottlingException',
    message: 'Request is throttled (injected by the test)',
    queryError: 'RequestThrottled;Sender',
  },
};

function errorAnswer(kind: InjectedError): Buffer {
  const { status, type, message, queryError } = ERRORS[kind];
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message });
  return Buffer.from(
    [
      `HTTP/1.1 ${status}`,
      'Content-Type: application/x-amz-json-1.0',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'x-amzn-RequestId: injected',
      ...(queryError ? [`x-amzn-query-error: ${queryError}`] : []),
      '',
      body,
    ].join('\r\n'),
  );
}

/** One whole HTTP message at the start of `bytes` (Content-Length or chunked), or undefined if not all there yet. */
function frame(bytes: Buffer): { head: string; body: Buffer; length: number } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = bytes.subarray(0, end).toString('latin1');
  let offset = end + 4;
  if (!/^transfer-encoding:\s*chunked/im.test(head)) {
    const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
    if (bytes.length < offset + length) return undefined;
    return { head, body: bytes.subarray(offset, offset + length), length: offset + length };
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (size === 0) {
      const trailerEnd = bytes.indexOf('\r\n\r\n', lineEnd);
      if (trailerEnd < 0) return undefined;
      return { head, body: Buffer.concat(chunks), length: trailerEnd + 4 };
    }
    if (bytes.length < lineEnd + 2 + size + 2) return undefined;
    chunks.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** The answer with a new body (and so a new Content-Length, never chunked). */
function withBody(head: string, body: string): Buffer {
  const lines = head.split('\r\n').filter((line) => !/^(content-length|transfer-encoding):/i.test(line));
  return Buffer.from([...lines, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n'));
}

/**
 * Takes each entry out of a batch request with chance `fraction`: SQS does not do those, and their
 * answer says they failed. `request` is undefined when none is left to send.
 */
function dropSomeEntries(head: string, body: Buffer, fraction: number): { request?: Buffer; dropped: string[] } {
  const call = JSON.parse(body.toString('utf8')) as { Entries?: { Id: string }[] };
  const dropped: string[] = [];
  const kept = (call.Entries ?? []).filter((entry) => {
    if (Math.random() >= fraction) return true;
    dropped.push(entry.Id);
    return false;
  });
  if (kept.length === 0) return { dropped };
  return { request: withBody(head, JSON.stringify({ ...call, Entries: kept })), dropped };
}

/** A batch answer (SQS's, or none when nothing was sent) with the dropped entries in Failed. */
function withFailedEntries(
  answer: { head: string; body: Buffer } | undefined,
  dropped: readonly string[],
  senderFault: boolean,
): Buffer {
  const { Successful = [], Failed = [] } = answer ? (JSON.parse(answer.body.toString('utf8')) as BatchAnswer) : {};
  const Code = senderFault ? 'ReceiptHandleIsInvalid' : 'InternalError';
  const failed = dropped.map((Id) => ({ Id, SenderFault: senderFault, Code, Message: 'injected by the test' }));
  const head =
    answer?.head ?? 'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: injected';
  return withBody(head, JSON.stringify({ Successful, Failed: [...Failed, ...failed] }));
}

type BatchAnswer = { Successful?: unknown[]; Failed?: unknown[] };

/** What becomes of SQS's answer to one forwarded request. */
type Rewrite =
  | { kind: 'pass' }
  | { kind: 'error'; error: InjectedError }
  | { kind: 'entries'; dropped: string[]; senderFault: boolean };

export async function startFaultyNetwork(upstream: string): Promise<FaultyNetwork> {
  const target = new URL(upstream);
  let mode: NetworkMode = 'pass';
  let failing = new Set<string>();
  let faults: readonly InjectedFault[] = [];
  let delay: readonly [number, number] = [0, 0];
  let entryFaults = { operations: new Set<string>(), fraction: 0, senderFault: false };
  let holding = { operations: new Set<string>(), after: 0, passed: 0 };
  let held = 0;
  const seen: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const afterCommit: Record<string, number> = {};
  const entriesFailed: Record<string, number> = {};
  const add = (counts: Record<string, number>, operation: string, by = 1) => {
    counts[operation] = (counts[operation] ?? 0) + by;
  };
  const open = new Set<Socket>();

  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode === 'reset') return client.resetAndDestroy();
    const server = connect(Number(target.port), target.hostname);
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    // A connection that saw the black hole stays dead: what SQS sends on it later is dropped.
    let dead = false;
    // Answers go back in the order of their requests, each after its latency.
    let answering = Promise.resolve();
    const answer = (bytes: Promise<Buffer>) => {
      answering = answering.then(async () => {
        const answer = await bytes;
        const [min, max] = delay;
        const ms = min + Math.random() * (max - min);
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        if (!dead && mode !== 'blackhole') client.write(answer);
      });
    };
    // Requests forwarded, oldest first, waiting for SQS's answer.
    const awaiting: { operation: string; rewrite: Rewrite; resolve(bytes: Buffer): void }[] = [];
    let fromServer = Buffer.alloc(0);
    server.on('data', (bytes) => {
      if (mode === 'blackhole') dead = true;
      if (dead) return;
      fromServer = Buffer.concat([fromServer, bytes]);
      for (let message = frame(fromServer); message; message = frame(fromServer)) {
        const raw = fromServer.subarray(0, message.length);
        fromServer = fromServer.subarray(message.length);
        const next = awaiting.shift();
        if (!next) continue;
        const { operation, rewrite } = next;
        if (rewrite.kind === 'error') {
          add(failed, operation);
          add(afterCommit, operation);
          next.resolve(errorAnswer(rewrite.error));
        } else if (rewrite.kind === 'entries' && /^HTTP\/1\.1 200/.test(message.head)) {
          add(entriesFailed, operation, rewrite.dropped.length);
          next.resolve(withFailedEntries(message, rewrite.dropped, rewrite.senderFault));
        } else {
          next.resolve(Buffer.from(raw));
        }
      }
    });
    const forward = (request: Buffer, operation: string, rewrite: Rewrite) => {
      answer(new Promise((resolve) => awaiting.push({ operation, rewrite, resolve })));
      server.write(request);
    };
    let pending = Buffer.alloc(0);
    client.on('data', (bytes) => {
      pending = Buffer.concat([pending, bytes]);
      for (let message = frame(pending); message; message = frame(pending)) {
        const request = pending.subarray(0, message.length);
        pending = pending.subarray(message.length);
        const operation = /^x-amz-target:\s*\w+\.(\w+)/im.exec(message.head)?.[1] ?? 'unknown';
        if (mode === 'blackhole') continue;
        add(seen, operation);
        const fault = faults.find(({ operations }) => operations.includes(operation));
        const injected = fault && Math.random() < fault.probability ? fault : undefined;
        if (holding.operations.has(operation) && holding.passed++ >= holding.after) {
          held++;
        } else if (failing.has(operation) || injected?.when === 'before') {
          add(failed, operation);
          answer(Promise.resolve(errorAnswer(injected?.error ?? 'internal-error')));
        } else if (injected) {
          forward(request, operation, { kind: 'error', error: injected.error });
        } else if (entryFaults.operations.has(operation) && entryFaults.fraction > 0) {
          const { request: rest, dropped } = dropSomeEntries(message.head, message.body, entryFaults.fraction);
          const { senderFault } = entryFaults;
          if (rest) forward(rest, operation, { kind: 'entries', dropped, senderFault });
          else {
            add(entriesFailed, operation, dropped.length);
            answer(Promise.resolve(withFailedEntries(undefined, dropped, senderFault)));
          }
        } else {
          forward(request, operation, { kind: 'pass' });
        }
      }
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    async set(next) {
      const wasListening = server.listening;
      mode = next;
      if (next === 'refuse' || next === 'reset') {
        for (const socket of open) socket.resetAndDestroy();
      }
      if (next === 'refuse' && wasListening) await new Promise((resolve) => server.close(resolve));
      if (next !== 'refuse' && !wasListening) await listen(port);
    },
    fail(operations) {
      failing = new Set(operations);
    },
    inject(next) {
      faults = [...next];
    },
    latency(ms) {
      delay = typeof ms === 'number' ? [ms, ms] : [ms[0], ms[1]];
    },
    failEntries(operations, fraction, senderFault = false) {
      entryFaults = { operations: new Set(operations), fraction, senderFault };
    },
    hold(operations, after = 0) {
      holding = { operations: new Set(operations), after, passed: 0 };
    },
    counts: () => ({
      seen: { ...seen },
      failed: { ...failed },
      afterCommit: { ...afterCommit },
      entriesFailed: { ...entriesFailed },
      held,
    }),
    async close() {
      for (const socket of open) socket.destroy();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

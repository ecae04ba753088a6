// Carries out what decide.ts decides for one received message. Every message ends in exactly one
// place — done (deleted), retried (a delayed copy, then deleted), waiting for its eta (hidden), or
// in the dead-letter queue with its reason (then deleted) — and each step is counted. A step that
// fails leaves the message in the queue: SQS delivers it again (at-least-once), and if only its
// delete had failed, it is then deleted without running again.
import type { Message } from '@aws-sdk/client-sqs';
import type { Outgoing, Routes } from './canvas.ts';
import { chordPartReturned } from './chord.ts';
import type { CeleryMessage } from './codec.ts';
import type { Turn } from './consumer.ts';
import { afterFailure, afterRun, etaHop, type Failure, inspect, type Verdict, whenUnsent } from './decide.ts';
import { ResultNotKeptError, TimeLimitExceededError } from './errors.ts';
import { combineHooks, type TaskEvent, type WorkerHooks } from './hooks.ts';
import { type Admission, admit, type HeldClaim, settleClaim } from './idempotency.ts';
import { type Lease, LeaseLostError } from './lease.ts';
import type { Logger } from './logger.ts';
import { DEAD_LETTER_REASONS, type Metrics, TASK_FAILED_REASON, type WorkerTaskState } from './metrics.ts';
import { readPointer } from './payload-pointer.ts';
import { PayloadUnavailableError } from './payload-store.ts';
import type { DeadLetterReason, QueueClient } from './queue-client.ts';
import type { ResolvedQueue } from './queues.ts';
import { type Outcome, TaskRevokedError } from './result-backend.ts';
import { scheduleOf } from './schedule-message.ts';
import type { TaskSender } from './sender.ts';
import { HandledMessages } from './sent-twice.ts';
import { type TaskContext, type TaskDefinition, timeLimits } from './task.ts';
import { after, sleep } from './timing.ts';

export interface ProcessorOptions {
  tasks: ReadonlyMap<string, TaskDefinition>;
  metrics: Metrics;
  log: Logger;
  hooks?: WorkerHooks;
  /** Where the messages a task's canvas sends go (its links, link_errors, its chain's next step). */
  routes: Routes;
  sender: TaskSender;
  /**
   * A run went past its hard time limit and was given up (its message retried or dead-lettered):
   * only ending the process ends the run. Its retry waits `stuckRetryDelaySeconds` at least, long
   * enough for the process to be gone.
   */
  onStuck?(description: string): void;
  stuckRetryDelaySeconds?: number;
  /** An eta further away is refused (ETA_HORIZON_DAYS; 365 by default). */
  etaHorizonDays?: number;
}

type Labels = { name: string; queue: string };
type Runnable = Extract<Verdict, { action: 'run' }>;
type Waiting = Extract<Verdict, { action: 'wait' }>;
type RunOutcome = { error?: Error; stuck?: boolean; value?: unknown };

/** The `name` label of messages for tasks this worker does not have: labels stay bounded. */
export const UNKNOWN_TASK_LABEL = '<unknown>';
/** How many handled-but-undeleted message ids are remembered. */
const REMEMBERED = 10_000;
/** How long a message waits, hidden, while the idempotency store cannot be reached. */
export const IDEMPOTENCY_UNAVAILABLE_RETRY_SECONDS = 5;

export class MessageProcessor {
  readonly #tasks: ReadonlyMap<string, TaskDefinition>;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #hooks: ReturnType<typeof combineHooks>;
  readonly #options: ProcessorOptions;
  /** Messages handled whose delete failed: when SQS delivers one again, it is only deleted. */
  readonly #undeleted = new Set<string>();
  /** Messages run here: a second copy SQS got from one send made twice is only deleted. */
  readonly #handled = new HandledMessages();

  constructor(options: ProcessorOptions) {
    this.#tasks = options.tasks;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#hooks = combineHooks(options.hooks ? [options.hooks] : []);
    this.#options = options;
  }

  /**
   * `turn.take()` resolves true when the task may run (see QueueConsumer), false if the message was
   * given back while it waited. Messages that run no task (expired, not due, dead-lettered) take no turn.
   */
  async process(client: QueueClient, message: Message, lease: Lease, turn: Turn): Promise<void> {
    const { queue } = client;
    this.#metrics.consumerTasks.inc({ name: queue.task, queue: queue.queue, state: 'received' });
    // A message gets one child logger, made once all it logs with is known: a pino child costs the
    // serialisation of its bindings, paid per message even when nothing is logged.
    const where = { queue: queue.fullName, messageId: message.MessageId };
    if (message.MessageId && this.#undeleted.has(message.MessageId)) {
      const log = this.#log.child(where);
      log.info('delivered again after its delete failed; it was handled already, so it is only deleted');
      return this.#delete(client, message, lease, log);
    }
    const body = await this.#body(client, message, lease, where);
    if (body === undefined) return;
    const { routes, etaHorizonDays } = this.#options;
    const chords = { chords: Boolean(this.#hooks.results?.chordPartReturn) };
    const verdict = inspect(body, this.#tasks, client.maxBodyBytes, Date.now(), routes, etaHorizonDays, chords);
    if (verdict.action === 'undecodable') {
      this.#metrics.consumerTasks.inc({ name: queue.task, queue: queue.queue, state: 'decode_error' });
      const log = this.#log.child(where);
      log.error({ err: verdict.reason.error }, 'message is not a Celery task; dead-lettering it');
      return this.#deadLetter(client, message, lease, verdict.reason, { name: queue.task, queue: queue.queue }, log);
    }
    const { celery } = verdict;
    const labels = this.#labels(queue, celery.task);
    // Celery's logs name a task by its shadow name when it has one.
    const shadow = celery.headers.shadow ? { shadow: celery.headers.shadow } : {};
    const task = { ...where, task: celery.task, id: celery.id, ...shadow };
    // Each line names its `retries`, which for a run on a FIFO queue differs from the message's.
    const logWith = (retries: number) => this.#log.child({ ...task, retries });
    if (verdict.action === 'run') {
      // Runs the task, unless the message is a second copy of one run here (see HandledMessages).
      if (!client.queue.fifo && this.#handled.isCopy(message, celery)) {
        const log = logWith(celery.retries);
        log.warn('a second copy of a message handled here (SQS got one send twice); it is only deleted');
        return this.#delete(client, message, lease, log);
      }
      this.#handled.remember(message, celery);
      return this.#runToEnd(client, message, lease, turn, verdict, labels, logWith);
    }
    const messageLog = logWith(celery.retries);
    switch (verdict.action) {
      case 'dead-letter':
        messageLog.error({ err: verdict.reason.error }, 'task cannot run; dead-lettering it');
        await this.#storeResult(celery, { state: 'FAILURE', error: verdict.reason.error }, messageLog);
        return this.#fail(client, message, lease, verdict.reason, labels, messageLog, celery, verdict.errbacks ?? []);
      case 'expire': {
        this.#record('expired', labels, message, celery);
        messageLog.info({ expires: celery.expires }, 'task expired before it ran; deleting it');
        const revoked: Outcome = { state: 'FAILURE', error: new TaskRevokedError('expired') };
        await this.#storeResult(celery, revoked, messageLog);
        // Celery counts an expired part of a chord as revoked: its chord fails rather than waits forever.
        if (!(await this.#chordPart(celery, revoked, messageLog))) return;
        return this.#delete(client, message, lease, messageLog, 'done');
      }
      case 'wait':
        return this.#waitForEta(client, message, lease, verdict, labels, messageLog);
    }
  }

  async #runToEnd(
    client: QueueClient,
    message: Message,
    lease: Lease,
    turn: Turn,
    verdict: Runnable,
    labels: Labels,
    logWith: (retries: number) => Logger,
  ): Promise<void> {
    const { celery, task } = verdict;
    const { fifo } = client.queue;
    const maxBytes = client.maxBodyBytes;
    // On a FIFO queue a retry stays here, in its place in its group, so that the group's later
    // messages wait for it: the runs so far count every delivery of the message and every retry.
    let retries = fifo ? celery.retries + Number(message.Attributes?.ApproximateReceiveCount ?? 1) - 1 : celery.retries;
    for (;;) {
      const runLog = logWith(retries);
      if (!(await turn.take())) return;
      // Its lease may have been lost while it waited: then it is no longer this worker's to run.
      if (lease.signal.aborted) return this.#gone(client, lease, runLog);
      // An idempotent task runs only once the store says so; otherwise #admit handled the message.
      let admission: Extract<Admission, { action: 'run' | 'fail' }> | undefined;
      if (task.idempotency) {
        admission = await this.#admit(client, message, lease, verdict, labels, runLog, retries);
        if (!admission) return;
      }
      const sentAt = Number(message.Attributes?.SentTimestamp);
      if (sentAt > 0) this.#metrics.latency.observe(labels, Math.max(0, Date.now() - sentAt) / 1000);
      this.#record('started', labels, message, celery, { retries });
      const ran: RunOutcome =
        admission?.action === 'fail'
          ? { error: admission.error }
          : await this.#run(verdict, labels, message, lease, runLog, retries);
      const { error, stuck, value } = ran;
      // Settled whatever became of the message: a run that returned after its lease was lost or its
      // message given back at shutdown did its work all the same.
      if (admission?.action === 'run') await this.#settleClaim(admission.claim, ran, task, labels, runLog);
      if (lease.signal.aborted && !stuck) return this.#gone(client, lease, runLog);
      if (!error) {
        this.#record('succeeded', labels, message, celery, { retries });
        return this.#succeed(client, message, lease, celery, value, { labels, log: runLog, retries });
      }
      const minDelaySeconds = stuck ? this.#options.stuckRetryDelaySeconds : undefined;
      const { routes } = this.#options;
      const outcome = afterFailure(celery, task, error, { retries, maxBytes, minDelaySeconds, inPlace: fifo, routes });
      this.#record('failed', labels, message, celery, { error, retries, final: outcome.action === 'dead-letter' });
      if (outcome.action === 'retry-here' && !stuck) {
        runLog.warn(
          { err: error, delaySeconds: outcome.delaySeconds },
          `task failed; retry ${retries + 1} follows here`,
        );
        this.#record('retried', labels, message, celery, { error, retries });
        turn.give();
        await sleep(outcome.delaySeconds * 1000, lease.signal);
        retries++;
        continue;
      }
      await this.#settleFailure(client, message, lease, outcome, error, labels, runLog, celery);
      if (stuck) this.#options.onStuck?.(error.message);
      return;
    }
  }

  /**
   * Runs the task within its time limits. At the soft limit `ctx.signal` aborts and the run counts
   * as failed; it is still awaited, so its retry never overlaps it. At the hard limit it is given up.
   */
  async #run(
    { celery, task, args }: Runnable,
    labels: Labels,
    message: Message,
    lease: Lease,
    log: Logger,
    retries: number,
  ): Promise<{ error?: Error; stuck?: boolean; value?: unknown }> {
    const { soft, hard } = timeLimits(task, celery.headers.timelimit);
    const limit = softLimit(lease, soft, task.name);
    const ctx = this.#context(celery, labels, limit.signal, log, retries);
    const stopTimer = this.#metrics.runtime.startTimer(labels);
    let cancelHardLimit: (() => void) | undefined;
    try {
      // Armed before the task is called: its synchronous start counts towards the hard limit too.
      const givenUp =
        hard === undefined
          ? undefined
          : new Promise<'stuck'>((resolve) => {
              cancelHardLimit = after(hard * 1000, () => resolve('stuck'));
            });
      const run = this.#hooks
        .aroundTask(this.#event('started', labels, message, celery, { retries }), async () => task.run(args, ctx))
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error: asError(error) }),
        );
      const result = givenUp ? await Promise.race([run, givenUp]) : await run;
      // Its lease may have expired while the whole process was paused (SIGSTOP, a frozen VM): then
      // SQS may have given the message to another worker, and the caller must not count it done.
      const ours = lease.check();
      if (result === 'stuck') {
        const error = `task ${task.name} still runs ${hard} s after it started, past its hard time limit, ignoring ctx.signal`;
        return { error: new TimeLimitExceededError(error), stuck: true };
      }
      if ('error' in result) return { error: result.error };
      // It returned, but only after its time limit: a failure all the same, as the limit promised.
      const overrun = limit.overrun();
      if (overrun) return { error: overrun };
      // A result may hold personal data: logged only at LOG_LEVEL=debug (or trace), for troubleshooting.
      if (ours) log.info(log.isLevelEnabled('debug') ? { result: result.value } : {}, 'task succeeded');
      return { value: result.value };
    } finally {
      stopTimer();
      limit.cancel();
      cancelHardLimit?.();
    }
  }

  #context(celery: CeleryMessage, labels: Labels, signal: AbortSignal, log: Logger, retries: number): TaskContext {
    const schedule = scheduleOf(celery.headers);
    return {
      id: celery.id,
      name: celery.task,
      queue: labels.queue,
      retries,
      ...(schedule ? { schedule } : {}),
      signal,
      log,
    };
  }

  /**
   * Asks the idempotency store before a run (see admit). Completed already: not run, counted
   * `duplicate`, its stored result sent on as if it had just returned. Held by a run elsewhere, or the
   * store not reachable: not run, the message hidden until it may run (never run unguarded).
   */
  async #admit(
    client: QueueClient,
    message: Message,
    lease: Lease,
    { celery, task, args }: Runnable,
    labels: Labels,
    log: Logger,
    retries: number,
  ): Promise<Extract<Admission, { action: 'run' | 'fail' }> | undefined> {
    const ctx = this.#context(celery, labels, lease.signal, log, retries);
    const lost = (key: string) =>
      log.warn(
        { key },
        'its idempotency claim expired while it ran (event loop blocked, process paused?): another run may hold the key, and its result will not be stored',
      );
    const admission = await admit(
      this.#hooks.idempotency,
      task,
      args,
      ctx,
      client.queue.visibilityTimeoutSeconds,
      lost,
    );
    switch (admission.action) {
      case 'run':
      case 'fail':
        return admission;
      case 'unavailable': {
        this.#metrics.idempotencyUnavailable.inc({ ...labels, step: 'claim' });
        const seconds = IDEMPOTENCY_UNAVAILABLE_RETRY_SECONDS;
        log.error(
          { err: admission.error, seconds },
          'the idempotency store cannot be reached: the task is not run without it, and comes back later',
        );
        await this.#comeBackLater(client, message, lease, seconds, log);
        return undefined;
      }
      case 'busy': {
        const { key, seconds } = admission;
        this.#metrics.idempotencyBusy.inc(labels);
        log.info({ key, seconds }, 'a run elsewhere holds its idempotency key; it comes back once that claim ends');
        await this.#comeBackLater(client, message, lease, seconds, log);
        return undefined;
      }
      case 'duplicate': {
        const { key, result, notKept } = admission;
        const keyLog = log.child({ key });
        this.#record('duplicate', labels, message, celery, { retries });
        const needsResult = afterRun(celery, undefined, this.#options.routes).send.length > 0;
        if (notKept !== undefined && needsResult) {
          const error = new ResultNotKeptError(
            `task ${task.name} completed already under idempotency key ${key}, but its result was not kept (${notKept}), so its links and chain cannot be sent; it is not run again`,
          );
          keyLog.error({ err: error }, 'a duplicate whose links need a result not kept; dead-lettering it');
          const reason = { error, task: celery.task, taskId: celery.id, retries };
          await this.#deadLetter(client, message, lease, reason, labels, keyLog, celery);
          return undefined;
        }
        keyLog.info(
          'its idempotency key completed already: not run again; its stored result goes to its links and chain',
        );
        await this.#succeed(client, message, lease, celery, result, { labels, log: keyLog, retries });
        return undefined;
      }
    }
  }

  /** A run ended: its key completed with its result, or released for the retry (see settleClaim). */
  async #settleClaim(claim: HeldClaim, ran: RunOutcome, task: TaskDefinition, labels: Labels, log: Logger) {
    try {
      if (!(await settleClaim(claim, ran, task.idempotency?.ttlSeconds ?? 0))) {
        log.warn(
          { key: claim.key },
          'its idempotency claim had expired and the key may be held by another run: it is not marked completed',
        );
      }
    } catch (storeError) {
      this.#metrics.idempotencyUnavailable.inc({ ...labels, step: ran.error ? 'release' : 'complete' });
      log.error(
        { err: storeError, key: claim.key },
        ran.error
          ? 'could not release its idempotency claim: its retry waits until the claim expires'
          : 'could not mark its idempotency key completed: a copy of this task arriving after its claim expires runs again',
      );
    }
  }

  /**
   * The message comes back in `seconds`, hidden; near its queue's maxReceiveCount a delayed copy
   * takes its place instead, so that waiting never dead-letters it (see etaHop). A FIFO queue can
   * only hide it.
   */
  async #comeBackLater(client: QueueClient, message: Message, lease: Lease, seconds: number, log: Logger) {
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const { fifo, maxReceiveCount } = client.queue;
    const hop = etaHop(seconds, { receiveCount, maxReceiveCount, fifo });
    if (hop.action === 'copy') return this.#sendAgain(client, message, lease, hop.delaySeconds, log);
    if (!(await lease.release(hop.action === 'hide' ? hop.seconds : seconds))) {
      log.warn('could not hide the message; it comes back after its visibility timeout');
    }
  }

  /** A delayed copy of the message takes its place (its receive count starts again), then it is deleted. */
  async #sendAgain(client: QueueClient, message: Message, lease: Lease, delaySeconds: number, log: Logger) {
    try {
      await client.sendDelayed(message, message.Body ?? '', delaySeconds);
    } catch (error) {
      log.error({ err: error }, 'could not send the task again to wait; the message will be delivered again');
      return;
    }
    await this.#delete(client, message, lease, log);
  }

  async #settleFailure(
    client: QueueClient,
    message: Message,
    lease: Lease,
    outcome: Failure,
    error: Error,
    labels: Labels,
    log: Logger,
    celery: CeleryMessage,
  ): Promise<void> {
    if (outcome.action === 'dead-letter') {
      log.error({ err: error }, `task failed (${outcome.why}); dead-lettering it`);
      await this.#storeResult(celery, { state: 'FAILURE', error }, log);
      return this.#fail(client, message, lease, outcome.reason, labels, log, celery, outcome.errbacks);
    }
    if (outcome.action === 'retry-here') {
      // A FIFO run given up: it runs again in its place once this process is gone, hidden until then.
      if (await lease.release(outcome.delaySeconds)) this.#record('retried', labels, message, celery, { error });
      return;
    }
    log.warn({ err: error, delaySeconds: outcome.delaySeconds }, `task failed; retry ${celery.retries + 1} follows`);
    try {
      await client.sendDelayed(message, outcome.body, outcome.delaySeconds);
    } catch (sendError) {
      log.error({ err: sendError }, 'could not send the retry; the message will be delivered again');
      return;
    }
    this.#record('retried', labels, message, celery, { error });
    await this.#delete(client, message, lease, log, 'replaced');
  }

  /**
   * Sends what the task's canvas asks next (its links, its chain's next step), then deletes the
   * message. Without any, the slot frees at once: the delete joins the next batch in the background
   * (the worker flushes pending deletes when it stops), so its round trip never idles a slot.
   */
  async #succeed(
    client: QueueClient,
    message: Message,
    lease: Lease,
    celery: CeleryMessage,
    result: unknown,
    { labels, log, retries }: { labels: Labels; log: Logger; retries: number },
  ): Promise<void> {
    await this.#storeResult(celery, { state: 'SUCCESS', value: result }, log);
    if (!(await this.#chordPart(celery, { state: 'SUCCESS', value: result }, log))) return;
    try {
      const { send } = afterRun(celery, result, this.#options.routes);
      await this.#options.sender.sendAll(send);
      if (send.length > 0) log.info({ sent: send.map(describe) }, 'sent what its canvas asks next');
    } catch (error) {
      const unsent = whenUnsent(celery, error, retries);
      if (unsent.action === 'leave') {
        log.error({ err: error }, 'could not send what its canvas asks next; the message will be delivered again');
        return;
      }
      log.error({ err: unsent.reason.error }, 'its canvas cannot go on; dead-lettering it');
      return this.#deadLetter(client, message, lease, unsent.reason, labels, log, celery);
    }
    void this.#delete(client, message, lease, log, 'done');
  }

  /**
   * A task that failed for good: its link_errors are sent, then it is dead-lettered. Should they not
   * go, it is dead-lettered all the same (its body still holds them), and the reason says so.
   */
  async #fail(
    client: QueueClient,
    message: Message,
    lease: Lease,
    reason: DeadLetterReason,
    labels: Labels,
    log: Logger,
    celery: CeleryMessage,
    errbacks: readonly Outgoing[],
  ): Promise<void> {
    if (!(await this.#chordPart(celery, { state: 'FAILURE', error: reason.error }, log))) return;
    let why = reason;
    try {
      await this.#options.sender.sendAll(errbacks);
      if (errbacks.length > 0) log.info({ sent: errbacks.map(describe) }, 'sent its link_errors');
    } catch (error) {
      log.error({ err: error }, 'could not send its link_errors; the dead-lettered message still holds them');
      const note = `${reason.error.message} (its link_errors were not sent: ${(error as Error).message})`;
      why = { ...reason, error: Object.assign(new Error(note), { name: reason.error.name }) };
    }
    return this.#deadLetter(client, message, lease, why, labels, log, celery);
  }

  /** A chord's header task ended for good: false when its part could not be counted (it comes back). */
  async #chordPart(celery: CeleryMessage, outcome: Outcome, log: Logger): Promise<boolean> {
    const { results } = this.#hooks;
    if (!results) return true;
    const { routes, sender } = this.#options;
    try {
      await chordPartReturned(celery, outcome, { results, routes, sender, log });
      return true;
    } catch (error) {
      log.error({ err: error }, 'could not count its part of its chord; the message will be delivered again');
      return false;
    }
  }

  /**
   * A message not yet due goes back to the queue hidden until its eta, or for 12 hours (SQS's
   * most), and hops again: no copy is made, so nothing can multiply. Only when its receive count
   * nears its queue's maxReceiveCount does a delayed copy take its place (see etaHop) — never on a
   * FIFO queue, where a copy would go to the end of its group: an eta there that the redrive policy
   * would cut short is dead-lettered with the reason.
   */
  async #waitForEta(
    client: QueueClient,
    message: Message,
    lease: Lease,
    { celery, seconds }: Waiting,
    labels: Labels,
    log: Logger,
  ): Promise<void> {
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const { fifo, maxReceiveCount } = client.queue;
    const hop = etaHop(seconds, { receiveCount, maxReceiveCount, fifo });
    if (hop.action === 'refuse') {
      log.error({ err: hop.error }, 'task cannot wait for its eta on this queue; dead-lettering it');
      const reason = { error: hop.error, task: celery.task, taskId: celery.id, retries: celery.retries };
      return this.#deadLetter(client, message, lease, reason, labels, log, celery);
    }
    if (hop.action === 'hide') {
      if (await lease.release(hop.seconds)) log.debug({ seconds, hidden: hop.seconds }, 'task not due yet; hidden');
      else log.warn('could not hide the task until its eta; it will be delivered again');
      return;
    }
    log.debug(
      { seconds, receiveCount },
      'task not due yet and received nearly as often as its queue allows; sent again',
    );
    await this.#sendAgain(client, message, lease, hop.delaySeconds, log);
  }

  async #deadLetter(
    client: QueueClient,
    message: Message,
    lease: Lease,
    reason: DeadLetterReason,
    labels: Labels,
    log: Logger,
    celery?: CeleryMessage,
  ): Promise<void> {
    try {
      await client.deadLetter(message, reason);
    } catch (error) {
      log.error({ err: error }, 'could not dead-letter the message; it will be delivered again');
      return;
    }
    this.#record('dead_lettered', labels, message, celery, { error: reason.error });
    const why = DEAD_LETTER_REASONS[reason.error.name] ?? TASK_FAILED_REASON;
    this.#metrics.deadLetters.inc({ ...labels, reason: why });
    await this.#delete(client, message, lease, log, 'replaced');
  }

  /**
   * Stores a final outcome in the result backend (integration `results`), before the message is
   * deleted. A store that fails is logged and the message goes on: the task is never run again
   * only to store its result (the backend tries again and counts what it gives up).
   */
  async #storeResult(celery: CeleryMessage, outcome: Outcome, log: Logger): Promise<void> {
    try {
      await this.#hooks.results?.store(celery, outcome);
    } catch (error) {
      log.error({ err: error }, 'could not store the task result; it is lost');
    }
  }

  /**
   * The message's Celery body: its own, or when it is a pointer (large-payloads), the one stored in
   * S3, read within the store's bounds. A stored body that cannot be had is dead-lettered with the
   * reason (the pointer and its object kept); one S3 did not give in time is left to come again.
   */
  async #body(
    client: QueueClient,
    message: Message,
    lease: Lease,
    where: Record<string, unknown>,
  ): Promise<string | undefined> {
    try {
      const pointer = readPointer(message);
      if (!pointer) return message.Body ?? '';
      const store = client.payloads;
      if (!store) {
        throw new PayloadUnavailableError(
          `the message points at its body in S3 (s3://${pointer.bucket}/${pointer.key}), and this worker has no large-payloads integration to read it`,
        );
      }
      return await store.get(pointer, { maxBytes: store.maxReadBytes, signal: lease.signal });
    } catch (error) {
      const log = this.#log.child(where);
      if (!(error instanceof PayloadUnavailableError || (error as Error).name === 'PayloadPointerError')) {
        log.warn({ err: error }, 'could not read the body stored in S3; the message will be delivered again');
        return undefined;
      }
      log.error({ err: error }, 'the body stored in S3 cannot be had; dead-lettering the message');
      const labels = { name: client.queue.task, queue: client.queue.queue };
      await this.#deadLetter(client, message, lease, { error: error as Error }, labels, log);
      return undefined;
    }
  }

  async #delete(
    client: QueueClient,
    message: Message,
    lease: Lease,
    log: Logger,
    stored: 'done' | 'replaced' | 'kept' = 'kept',
  ): Promise<void> {
    // SQS accepts a delete by a receipt handle whose timeout passed, and may delete nothing: a
    // message another receiver has now must not be counted deleted here.
    if (!lease.check()) return this.#gone(client, lease, log);
    lease.drop();
    const id = message.MessageId;
    try {
      await client.delete(message);
      if (id) this.#undeleted.delete(id);
      this.#metrics.consumerTasks.inc({ name: client.queue.task, queue: client.queue.queue, state: 'deleted' });
      // Only once the message is gone: until then, a delivery again still finds its body.
      if (stored !== 'kept') {
        client
          .dropStoredBodies(message, stored)
          .catch((error: unknown) =>
            log.warn({ err: error }, 'could not delete its body from S3; the bucket lifecycle rule removes it'),
          );
      }
    } catch (error) {
      // Counted: another process that receives it runs it again, so each is a possible duplicate.
      this.#metrics.consumerTasks.inc({ name: client.queue.task, queue: client.queue.queue, state: 'delete_failed' });
      log.warn({ err: error }, 'delete failed; the message will be delivered again, and then only deleted');
      if (!id) return;
      this.#undeleted.add(id);
      if (this.#undeleted.size > REMEMBERED) this.#undeleted.delete(this.#undeleted.values().next().value as string);
    }
  }

  /** The message stopped being this worker's while its task ran: given back at shutdown, or its lease lost. */
  #gone(client: QueueClient, lease: Lease, log: Logger): void {
    if (lease.signal.reason instanceof LeaseLostError) {
      this.#metrics.consumerTasks.inc({ name: client.queue.task, queue: client.queue.queue, state: 'lease_lost' });
      log.warn({ err: lease.signal.reason }, 'the lease was lost while the task ran; its result is not recorded');
    } else {
      log.warn('the message was given back during shutdown; another worker will run it');
    }
  }

  /** Metric labels: the task's name only if this worker has it, so a stream of made-up names adds no series. */
  #labels(queue: ResolvedQueue, task: string): Labels {
    return { name: this.#tasks.has(task) ? task : UNKNOWN_TASK_LABEL, queue: queue.queue };
  }

  /** Counts a state change and tells the integrations. */
  #record(
    state: WorkerTaskState,
    labels: Labels,
    message: Message,
    celery?: CeleryMessage,
    extra: Partial<TaskEvent> = {},
  ): void {
    this.#metrics.workerTasks.inc({ ...labels, state });
    this.#hooks.onTaskEvent(this.#event(state, labels, message, celery, extra));
  }

  #event(
    state: WorkerTaskState,
    labels: Labels,
    message: Message,
    celery?: CeleryMessage,
    extra: Partial<TaskEvent> = {},
  ): TaskEvent {
    return {
      state,
      task: celery?.task ?? labels.name,
      queue: labels.queue,
      ...(message.MessageId ? { messageId: message.MessageId } : {}),
      ...(celery ? { id: celery.id, retries: celery.retries, headers: celery.headers } : {}),
      ...extra,
    };
  }
}

/**
 * ctx.signal of a run: its lease's own when the task has no soft time limit, else one that also
 * aborts when the limit passes. Not AbortSignal.any, whose weak references cost every run its share
 * of the garbage collector's time.
 */
function softLimit(lease: Lease, seconds: number | undefined, taskName: string) {
  if (seconds === undefined) return { signal: lease.signal, overrun: () => undefined, cancel: () => {} };
  const controller = new AbortController();
  let overrun: TimeLimitExceededError | undefined;
  const leaseLost = () => controller.abort(lease.signal.reason);
  if (lease.signal.aborted) leaseLost();
  else lease.signal.addEventListener('abort', leaseLost, { once: true });
  // `after`, not setTimeout: a limit can be longer than a timer takes (time_limit=3000000 is).
  const cancelTimer = after(seconds * 1000, () => {
    overrun = new TimeLimitExceededError(`task ${taskName} ran past its time limit of ${seconds} s`);
    controller.abort(overrun);
  });
  return {
    signal: controller.signal,
    overrun: (): TimeLimitExceededError | undefined => overrun,
    cancel() {
      cancelTimer();
      lease.signal.removeEventListener('abort', leaseLost);
    },
  };
}

/** For logs: the task and the queue of a message sent. */
const describe = ({ queue, message }: Outgoing) => ({ task: message.task, id: message.id, queue });

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

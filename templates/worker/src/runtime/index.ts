// The worker framework's public surface: what tasks, scripts and tests import.
export type { Signature, TaskRoutes } from './canvas.ts';
export { type CeleryMessage, decodeMessage, encodeMessage, SQS_MAX_BODY_BYTES } from './codec.ts';
export { type CoreConfig, coreEnvSchema, httpUrl, parseEnv, settingOrigin } from './config.ts';
export * from './errors.ts';
export {
  combineHooks,
  type IntegrationContext,
  type ReceiveLimiter,
  type TaskEvent,
  type WorkerHooks,
} from './hooks.ts';
export { addLogSink, createLogger, type Logger } from './logger.ts';
export { createMetrics, type Metrics } from './metrics.ts';
export { deadLetterQueueName, fullQueueName, metricPrefix, type NamingContext } from './naming.ts';
export {
  type ApplyOptions,
  type CallOptions,
  chain,
  DEFAULT_GET_TIMEOUT_MS,
  type GetOptions,
  Producer,
  type ProducerOptions,
  type SendOptions,
  type SentTask,
  type SignatureOptions,
  sig,
  type TaskHandle,
} from './producer.ts';
export {
  type ApplyEntry,
  applyPlan,
  DEFAULT_QUEUE_SETTINGS,
  desiredQueues,
  type PlanEntry,
  planQueues,
  provisionQueues,
  type QueueSettings,
} from './provision.ts';
export type { QueueBinding, ResolvedQueue } from './queues.ts';
export { redactUrls } from './redact.ts';
export {
  type CeleryState,
  type ChordReady,
  decodeResult,
  type EncodedFailure,
  encodeFailure,
  encodeResult,
  NoResultBackendError,
  type Outcome,
  READY_STATES,
  type ResultBackend,
  ResultNotStorableError,
  ResultTimeoutError,
  resultKey,
  resultValue,
  TaskFailedError,
  type TaskMeta,
  TaskRevokedError,
} from './result-backend.ts';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';
export { type RunOptions, runWorker, type Work } from './run.ts';
export {
  type CronFields,
  checkTimeZone,
  longestInterval,
  type NextRunsOptions,
  nextRuns,
  parseScheduleExpression,
  type RateUnit,
  type ScheduleExpression,
} from './schedule-expression.ts';
export { fireInput, scheduleInput } from './schedule-message.ts';
export { type ResolvedSchedule, resolveSchedules, type ScheduleEntry, schedule } from './schedules.ts';
export { createSqsClient } from './sqs.ts';
export {
  describeSqsTarget,
  explainSqsError,
  explainStartupError,
  LOCAL_SQS_ENDPOINT,
  listenError,
  type SqsTarget,
  sqsTarget,
} from './startup.ts';
export { type ArgsSchema, defineTask, parseArguments, type TaskContext, type TaskDefinition } from './task.ts';
export { sleep } from './timing.ts';
export { startWorker, type Worker } from './worker.ts';

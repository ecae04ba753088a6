// create-be-worker as a library: the same pipeline the CLI runs, without any terminal I/O.
export { type AddQueueInput, addQueue } from './add-queue.ts';
export { type CreateOptions, type CreateResult, createWorker, type Progress } from './create.ts';
export {
  listDeadLetters,
  peekDeadLetters,
  purgeDeadLetters,
  type RedriveOptions,
  type RedriveReport,
  redriveDeadLetters,
} from './dlq/index.ts';
export { CancelledError, EnvironmentError, UserError } from './errors.ts';
export { type IamPolicies, iamPolicies, type PolicyTarget } from './iam-policy.ts';
export { detectPackageManager, type PackageManager } from './package-manager.ts';
export { type ProvisionOptions, type ProvisionReport, provision } from './provision.ts';
export { renderWorker } from './render.ts';
export { type AddScheduleInput, addSchedule, removeScheduleFrom as removeSchedule } from './schedules/edit.ts';
export { type LoadedSchedule, loadSchedules } from './schedules/load.ts';
export { parseQueueSpec, type QueueSpec, type Spec, validateSpec } from './spec.ts';
export { type StatusReport, status } from './status.ts';
export { applyTree, describeTree, type VirtualTree } from './tree.ts';
export { CLI_VERSION, TEMPLATE_VERSION } from './version.ts';
export { workerQueues } from './worker-queues.ts';

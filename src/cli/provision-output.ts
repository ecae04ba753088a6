// Provisioning for people (a table) and for scripts (--json), plus the confirmation it needs.
import { type Identity, whoAndWhere } from '../aws.ts';
import { EnvironmentError } from '../errors.ts';
import { beWorkerCommand } from '../package-manager.ts';
import { type BucketPlan, bucketWrites } from '../payload-bucket.ts';
import { type ProvisionOptions, type ProvisionReport, provision, scheduleWrites, writes } from '../provision.ts';
import type { ScheduleDrift, SchedulePlan } from '../schedules/provision.ts';
import { confirmOrRefuse, table } from './ui.ts';

/** The report as a table; `planned`: the plan shown before asking, nothing changed yet. */
export function formatReport(report: ProvisionReport, { planned = false } = {}): string {
  const { identity, region, dryRun, entries } = report;
  const rows = entries.map((entry) => {
    const result = 'outcome' in entry ? entry.outcome : entry.action;
    const details = [
      ...entry.drift.map(({ attribute, actual, expected }) => `${attribute}: ${actual} → ${expected}`),
      ...('error' in entry && entry.error ? [entry.error] : []),
    ].join('; ');
    return [entry.name, entry.role, result, details];
  });
  const drift =
    entries.some((entry) => ('outcome' in entry ? entry.outcome === 'drift' : entry.action === 'drift')) ||
    Boolean(report.schedules?.entries.some((entry) => 'outcome' in entry && entry.outcome === 'drift')) ||
    report.schedules?.role.outcome === 'drift' ||
    Boolean(report.bucket?.entries.some((entry) => entry.outcome === 'drift'));
  const note = dryRun ? ' — dry run, nothing changed' : planned ? ' — the plan, nothing changed yet' : '';
  const inPlace =
    entries.every((entry) => entry.action === 'exists') &&
    (!report.schedules || scheduleWrites(report.schedules, true) === 0) &&
    bucketWrites(report.bucket, true) === 0;
  return [
    `${whoAndWhere(identity, region)}${note}`,
    ...table(['QUEUE', 'ROLE', 'RESULT', 'DETAILS'], rows),
    ...(report.schedules ? ['', ...formatSchedules(report.schedules)] : []),
    ...(report.schedulesSkipped ? [report.schedulesSkipped] : []),
    ...(report.bucket ? ['', ...formatBucket(report.bucket)] : []),
    ...(drift && !dryRun && !planned
      ? ['Drift is reported, not changed: run again with --fix to apply the planned attributes.']
      : []),
    ...(inPlace ? ['Everything is in place: nothing to change.'] : []),
  ].join('\n');
}

/** The schedule group, the role EventBridge sends as, and a row per schedule. */
function formatSchedules({ group, groupAction, groupOutcome, role, entries }: SchedulePlan): string[] {
  const rows = entries.map((entry) => {
    const planned = entry.stray ? 'kept' : entry.action === 'none' ? 'in place' : entry.action;
    const result = 'outcome' in entry ? entry.outcome : planned;
    const details =
      entry.action === 'delete' || entry.stray
        ? `not in schedules.ts${entry.stray ? ': --prune deletes it' : ''}`
        : entry.drift?.length
          ? driftText(entry.drift)
          : `${entry.when} → ${entry.queue}`;
    return [entry.name, result, [details, ...('error' in entry && entry.error ? [entry.error] : [])].join('; ')];
  });
  const roleResult = role.outcome ?? role.action;
  return [
    `Schedule group ${group}: ${groupOutcome ?? (groupAction === 'create' ? 'create' : 'in place')}`,
    ...(role.arn
      ? [
          `Role EventBridge sends as: ${role.arn}: ${roleResult === 'none' || roleResult === 'unchanged' ? 'in place' : roleResult}${role.drift?.length ? ` (${driftText(role.drift)})` : ''}${role.error ? `; ${role.error}` : ''}`,
        ]
      : []),
    ...table(['SCHEDULE', 'RESULT', 'DETAILS'], rows),
  ];
}

/** The large-payloads bucket: a row per setting, then what the worker must be told. */
function formatBucket({ bucket, prefix, expirationDays, entries }: BucketPlan): string[] {
  const rows = entries.map((entry) => [
    entry.setting,
    entry.outcome ?? entry.action,
    [entry.details, entry.error].filter(Boolean).join('; '),
  ]);
  return [
    `Payload bucket ${bucket}, prefix ${prefix ? `"${prefix}"` : '(none: the whole bucket)'}: objects left there are removed after ${expirationDays} days (longer than a message and its dead letter live)`,
    ...table(['SETTING', 'RESULT', 'DETAILS'], rows),
    `The worker finds it by LARGE_PAYLOAD_BUCKET=${bucket}${prefix ? ` and LARGE_PAYLOAD_PREFIX=${prefix}` : ''}.`,
  ];
}

/** Each field that differs: short values as they are and will be, long ones (a message, a policy) only named. */
function driftText(drift: readonly ScheduleDrift[]): string {
  return drift
    .map(({ field, want, have }) =>
      typeof want === 'string' && typeof have === 'string' && want.length + have.length <= 120
        ? `${field}: ${have} → ${want}`
        : `${field}: differs`,
    )
    .join('; ');
}

export interface ReportFlags {
  json?: boolean;
  /** Change a shared env without asking. */
  yes?: boolean;
  /** What to run to finish after a failure (default: the same command again). */
  again?: string;
}

/**
 * Provisions, prints the table (or JSON), and throws (exit 2) when a queue failed: the table says
 * which, and running again finishes the job.
 */
export async function provisionAndReport(
  options: Omit<ProvisionOptions, 'confirm'>,
  { json = false, yes = false, again = 'the same command again' }: ReportFlags = {},
): Promise<void> {
  const report = await provision({ ...options, confirm: yes ? showDeletions(json) : confirmFor(options) });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  const failed = [
    ...report.entries.filter((entry) => 'outcome' in entry && entry.outcome === 'failed'),
    ...(report.schedules?.entries.filter((entry) => 'outcome' in entry && entry.outcome === 'failed') ?? []),
    ...(report.bucket?.entries.filter((entry) => entry.outcome === 'failed') ?? []),
  ];
  if (failed.length > 0) {
    throw new EnvironmentError(
      `${failed.length} queue(s), schedule(s) or bucket setting(s) failed (see above); fix the cause and run ${again}.`,
    );
  }
  // AWS envs only: env local is the SQS of npm run dev, which has no IAM.
  if (!json && isShared(options.env)) {
    console.log(
      `The IAM policies for the worker's role and KEDA's${report.schedules ? ', and what provisioning the schedules needs' : ''}: ${beWorkerCommand(`iam-policy --env ${options.env}`)}`,
    );
  }
}

/** Without asking (--yes), a plan that deletes schedules (--prune) is still shown before it is carried out. */
function showDeletions(json: boolean): ((plan: ProvisionReport) => Promise<boolean>) | undefined {
  if (json) return undefined;
  return async (plan) => {
    if (plan.schedules?.entries.some(({ action }) => action === 'delete')) {
      console.log(formatReport(plan, { planned: true }));
    }
    return true;
  };
}

/** Whether changing queues in `env` is confirmed first: every env but a developer's own. */
export function isShared(env: string): boolean {
  return env !== 'local';
}

/**
 * Writing to a shared environment is confirmed in a terminal, after showing who (the AWS account),
 * where (env, region) and what (the plan); without a terminal it needs --yes.
 */
export function confirmFor({
  env,
  fix,
}: Pick<ProvisionOptions, 'env' | 'fix'>): ((plan: ProvisionReport) => Promise<boolean>) | undefined {
  if (!isShared(env)) return undefined;
  return async (plan) => {
    const schedules = scheduleWrites(plan.schedules, fix);
    const settings = bucketWrites(plan.bucket, fix);
    const what = [
      `${writes(plan, fix) - schedules - settings} queue(s)`,
      ...(schedules ? [`${schedules} schedule(s), schedule group or role`] : []),
      ...(settings ? [`${settings} setting(s) of bucket ${plan.bucket?.bucket}`] : []),
    ].join(' and ');
    const where = `env "${env}" of ${accountOf(plan.identity)} (${plan.region})`;
    return confirmOrRefuse(`Change ${what} in ${where}?`, `provisioning would change ${what} in ${where}`, () =>
      console.log(formatReport(plan, { planned: true })),
    );
  };
}

/** "AWS account 1234…", or the local SQS without STS. */
export function accountOf(identity: Identity): string {
  return identity.endpoint ? `the local SQS at ${identity.endpoint}` : `AWS account ${identity.account}`;
}

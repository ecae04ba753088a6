// Provisioning for people (a table) and for scripts (--json), plus the confirmation it needs.
import * as clack from '@clack/prompts';
import type { PlanEntry } from '../../templates/worker/src/runtime/provision.ts';
import { EnvironmentError, UserError } from '../errors.ts';
import { type ProvisionOptions, type ProvisionReport, provision } from '../provision.ts';
import { interactive } from './ui.ts';

export function formatReport(report: ProvisionReport): string {
  const { identity, region, dryRun, entries } = report;
  const rows = entries.map((entry) => {
    const result = 'outcome' in entry ? entry.outcome : entry.action;
    const details = [
      ...entry.drift.map(({ attribute, actual, expected }) => `${attribute}: ${actual} → ${expected}`),
      ...('error' in entry && entry.error ? [entry.error] : []),
    ].join('; ');
    return [entry.name, entry.role, result, details];
  });
  const widths = [0, 1, 2].map((column) =>
    Math.max(['QUEUE', 'ROLE', 'RESULT'][column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell))
      .join('  ')
      .trimEnd();
  const drift = entries.some((entry) => ('outcome' in entry ? entry.outcome === 'drift' : entry.action === 'drift'));
  return [
    `AWS account ${identity.account} as ${identity.arn}, region ${region}${dryRun ? ' — dry run, nothing changed' : ''}`,
    line(['QUEUE', 'ROLE', 'RESULT', 'DETAILS']),
    ...rows.map(line),
    ...(drift && !dryRun
      ? ['Drift is reported, not changed: run again with --fix to apply the planned attributes.']
      : []),
    ...(entries.every((entry) => entry.action === 'exists') ? ['Everything is in place: nothing to change.'] : []),
  ].join('\n');
}

/**
 * Provisions, prints the table (or JSON), and throws (exit 2) when a queue failed: the table says
 * which, and running again finishes the job.
 */
export async function provisionAndReport(
  options: Omit<ProvisionOptions, 'confirm'>,
  { json = false, yes = false }: { json?: boolean; yes?: boolean } = {},
): Promise<void> {
  const report = await provision({ ...options, confirm: confirmFor(options.env, yes) });
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  const failed = report.entries.filter((entry) => 'outcome' in entry && entry.outcome === 'failed');
  if (failed.length > 0) {
    throw new EnvironmentError(
      `${failed.length} queue(s) failed (see above); fix the cause and run the same command again.`,
    );
  }
}

/** Writing to a shared environment is confirmed in a terminal, and needs --yes without one. */
function confirmFor(env: string, yes: boolean | undefined): ((plan: PlanEntry[]) => Promise<boolean>) | undefined {
  if (env === 'local' || yes) return undefined;
  return async (plan) => {
    const changes = plan.filter(({ action }) => action !== 'exists').length;
    if (!interactive) {
      throw new UserError(
        `provisioning would change ${changes} queue(s) in env "${env}"; pass --yes to do it without a terminal`,
      );
    }
    const answer = await clack.confirm({ message: `Change ${changes} queue(s) in env "${env}"?`, initialValue: false });
    return answer === true;
  };
}

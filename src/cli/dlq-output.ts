// `be-worker status` and `be-worker dlq` for people: compact tables, the DLQ counts that matter in
// colour, a progress bar in a terminal.
import kleur from 'kleur';
import { whoAndWhere } from '../aws.ts';
import type { DeadLetterSummary, PeekReport, RedriveProgress, RedriveReport, Where } from '../dlq/index.ts';
import type { DeadLetter } from '../dlq/read.ts';
import { beWorkerCommand } from '../package-manager.ts';
import type { PayloadUsage, StatusReport } from '../status.ts';
import { interactive, table } from './ui.ts';

export function heading({ identity, region, env }: Where): string {
  return `${whoAndWhere(identity, region)}, env "${env}"`;
}

export function formatStatus(report: StatusReport): string {
  const rows = report.queues.map((row) => {
    const counts = row.missing ? ['-', '-', '-'] : [String(row.visible), String(row.inFlight), String(row.delayed)];
    const deadLetters = row.role === 'dead-letter' && (row.visible ?? 0) + (row.inFlight ?? 0) + (row.delayed ?? 0) > 0;
    const name = row.role === 'dead-letter' ? `  ${row.name}` : row.name;
    return [
      deadLetters ? kleur.red().bold(name) : name,
      ...counts.map((count, index) => (deadLetters && index === 0 ? kleur.red().bold(count) : count)),
      row.missing ? kleur.yellow(`missing: ${beWorkerCommand(`provision --env ${report.env}`)}`) : '',
    ];
  });
  return [
    heading(report),
    ...table(['QUEUE', 'VISIBLE', 'IN FLIGHT', 'DELAYED', ''], rows),
    ...(report.payloads ? [formatPayloadUsage(report.payloads, report.env)] : []),
  ].join('\n');
}

function formatPayloadUsage(usage: PayloadUsage, env: string): string {
  const where = `s3://${usage.bucket}/${usage.prefix}`;
  if (usage.missing)
    return `Large payloads: ${where} ${kleur.yellow(`missing: ${beWorkerCommand(`provision --env ${env}`)}`)}`;
  const more = usage.more ? ' (the first 1000 listed; there are more)' : '';
  return `Large payloads: ${usage.objects} object(s), ${usage.bytes} bytes in ${where}${more}: bodies of messages queued, in flight or dead-lettered, and any kept or orphaned`;
}

export function formatList(report: Where & { queues: DeadLetterSummary[] }): string {
  const lines = [heading(report)];
  for (const summary of report.queues) {
    if (summary.missing) {
      lines.push(
        `${summary.deadLetterQueue}: ${kleur.yellow(`missing: ${beWorkerCommand(`provision --env ${report.env}`)}`)}`,
      );
      continue;
    }
    const count = summary.messages > 0 ? kleur.red().bold(String(summary.messages)) : '0';
    const sample = summary.read < summary.messages ? ` (grouped: the ${summary.read} read)` : '';
    lines.push(`${summary.deadLetterQueue}: ${count} message(s)${sample}`);
    if (summary.groups.length > 0) {
      lines.push(
        ...table(
          ['REASON', 'TASK', 'COUNT'],
          summary.groups.map(({ errorType, task, count: n }) => [errorType, task, String(n)]),
          '  ',
        ),
      );
    }
  }
  return lines.join('\n');
}

export function formatPeek(report: PeekReport): string {
  return [
    heading(report),
    `${report.deadLetterQueue}: ${report.messages} message(s); ${report.letters.length} shown, all left in place`,
    ...report.letters.flatMap(formatLetter),
  ].join('\n');
}

function formatLetter(letter: DeadLetter): string[] {
  const facts = [
    letter.taskId ? `id ${letter.taskId}` : `message ${letter.messageId}`,
    letter.retries !== undefined ? `retries ${letter.retries}` : undefined,
    letter.receiveCount !== undefined ? `received ${letter.receiveCount}×` : undefined,
    letter.deadLetteredAt ? `dead-lettered ${letter.deadLetteredAt}` : undefined,
  ].filter(Boolean);
  return [
    '',
    `${kleur.bold(letter.task ?? '(unknown task)')}  ${facts.join('  ')}`,
    ...(letter.payload
      ? [
          `  body in s3://${letter.payload.bucket}/${letter.payload.key} (${letter.payload.size} bytes; left there)${letter.payload.unread ? `: ${kleur.yellow(letter.payload.unread)}` : ''}`,
        ]
      : []),
    letter.payload?.unread
      ? `  args not shown: the body was not read`
      : letter.decodeError
        ? `  body not readable: ${letter.decodeError}`
        : `  args ${truncate(JSON.stringify(letter.args))}  kwargs ${truncate(JSON.stringify(letter.kwargs))}`,
    `  ${kleur.red(letter.errorType ?? '(no reason)')}${letter.errorMessage ? `: ${truncate(letter.errorMessage, 200)}` : ''}${letter.sourceQueue ? `  (from ${letter.sourceQueue})` : ''}`,
  ];
}

/** What a purge did to the stored bodies of the messages it purged. */
export function formatPurgedObjects({ deleted, errors }: { deleted: number; errors: string[] }): string {
  const lines = [`Deleted ${deleted} stored bod${deleted === 1 ? 'y' : 'ies'} of those messages from S3.`];
  if (errors.length > 0) {
    lines.push(
      kleur.yellow(
        `${errors.length} could not be deleted; the bucket's lifecycle rule removes them later:\n${errors.map((error) => `  ${error}`).join('\n')}`,
      ),
    );
  }
  return lines.join('\n');
}

/** One line, at most `max` characters. */
export function truncate(text = '', max = 80): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function formatRedrive(report: RedriveReport): string {
  const what = report.task ? `task ${report.task}` : 'all';
  if (report.dryRun) {
    const total = (report.wouldMove ?? []).reduce((sum, { count }) => sum + count, 0);
    const byTask = (report.wouldMove ?? []).map(({ task, count }) => `${task} ${count}`).join(', ');
    return [
      heading(report),
      `Dry run: would move ${total} of the ${report.messages} message(s) of ${report.from} (${what}) to ${report.to}${byTask ? `: ${byTask}` : ''}. Nothing was changed.`,
    ].join('\n');
  }
  const how = report.method === 'move-task' ? 'by an SQS message move task' : 'batch by batch';
  const left = report.loop?.skipped ? `; ${report.loop.skipped} of other tasks stay in ${report.from}` : '';
  const again = report.loop?.again
    ? `\n${kleur.yellow(`${report.loop.again} failed again and were dead-lettered again while the redrive ran: they stay in ${report.from} (is the cause fixed?).`)}`
    : '';
  const duplicated = report.loop?.notDeleted
    ? `\n${kleur.yellow(`${report.loop.notDeleted} were sent but could not be deleted from ${report.from}: they are in both queues now.`)}`
    : '';
  return `Moved ${report.moved} message(s) (${what}) from ${report.from} to ${report.to}, ${how}${left}.${again}${duplicated}`;
}

/** In a terminal, a bar redrawn in place; elsewhere nothing until the end. */
export function progressBar(): { update(progress: RedriveProgress): void; done(): void } {
  let drawn = false;
  return {
    update({ moved, total }) {
      if (!interactive) return;
      const width = 30;
      const filled = total ? Math.min(width, Math.round((moved / Math.max(total, 1)) * width)) : 0;
      const bar = total ? `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${moved}/${total}` : `${moved}`;
      process.stdout.write(`\r\x1b[2K${bar} moved`);
      drawn = true;
    },
    done() {
      if (drawn) process.stdout.write('\n');
      drawn = false;
    },
  };
}

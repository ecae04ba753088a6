// The queue tables of the worker's README.md and examples/client/README.md, as the templates render
// them, extended by add-queue: one row after the table's last, every other byte as the team left it.
import { deadLetterQueueName, fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import type { QueueBinding } from '../../templates/worker/src/runtime/queues.ts';

export const QUEUE_TABLE_FILES = ['README.md', 'examples/client/README.md'] as const;

const prod = (queue: string) => fullQueueName(queue, { env: 'prod', user: '' });
const code = (text: string) => `\`${text}\``;

/** What each column the templates render holds for a queue, by its header. */
const COLUMNS: Record<string, (binding: QueueBinding) => string> = {
  queue: ({ queue }) => code(queue),
  task: ({ task }) => code(task),
  'SQS queue (`APP_ENV=prod`)': ({ queue }) => code(prod(queue)),
  'SQS name in prod': ({ queue }) => code(prod(queue)),
  'dead-letter queue': ({ queue }) => code(deadLetterQueueName(prod(queue))),
};

const DELIMITER_ROW = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function cellsOf(line: string): string[] | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('|')) return undefined;
  return trimmed
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((cell) => cell.trim());
}

/**
 * `source` with a row for `binding` after the last row of its queue table: the first table whose
 * columns are all ones the templates render, queue and task among them. Undefined when there is
 * none (removed, or rewritten by the team: theirs to update). Unchanged when the queue has a row.
 */
export function addQueueRow(source: string, binding: QueueBinding): string | undefined {
  const lines = source.split('\n');
  for (let header = 0; header + 1 < lines.length; header++) {
    const columns = cellsOf(lines[header] ?? '');
    if (!columns?.includes('queue') || !columns.includes('task')) continue;
    if (!columns.every((column) => column in COLUMNS) || !DELIMITER_ROW.test(lines[header + 1] ?? '')) continue;
    let end = header + 2;
    const queueColumn = columns.indexOf('queue');
    for (; end < lines.length && cellsOf(lines[end] ?? ''); end++) {
      if (cellsOf(lines[end] ?? '')?.[queueColumn] === code(binding.queue)) return source;
    }
    const eol = lines[header]?.endsWith('\r') ? '\r' : '';
    const row = `| ${columns.map((column) => COLUMNS[column]?.(binding)).join(' | ')} |${eol}`;
    return [...lines.slice(0, end), row, ...lines.slice(end)].join('\n');
  }
  return undefined;
}

// src/config/queues.ts: the queues a worker consumes, read and extended on its syntax tree.
import MagicString from 'magic-string';
import type { QueueBinding } from '../../templates/worker/src/runtime/queues.ts';
import { UserError } from '../errors.ts';
import { endWithComma, exportedArray, indentAt, parseModule, quoteOf, type t } from './parse.ts';

export const QUEUES_FILE = 'src/config/queues.ts';

export function readQueues(source: string): QueueBinding[] {
  const array = exportedArray(parseModule(source, QUEUES_FILE), 'queues', QUEUES_FILE);
  return array.elements.map((element, index) => {
    if (element?.type !== 'ObjectExpression') throw unreadable(index, 'is not an object literal');
    const binding: Record<string, string> = {};
    for (const property of element.properties) {
      if (property.type !== 'ObjectProperty' || property.key.type !== 'Identifier') continue;
      if (property.value.type !== 'StringLiteral')
        throw unreadable(index, `has a ${property.key.name} that is not a string literal`);
      binding[property.key.name] = property.value.value;
    }
    if (!binding.queue || !binding.task) throw unreadable(index, 'needs a queue and a task');
    return { queue: binding.queue, task: binding.task, ...(binding.ratelimit ? { ratelimit: binding.ratelimit } : {}) };
  });
}

/** Appends a queue to the list, in the style of the entries already there. */
export function appendQueue(source: string, binding: QueueBinding): string {
  const array = exportedArray(parseModule(source, QUEUES_FILE), 'queues', QUEUES_FILE);
  const edit = new MagicString(source);
  const last = array.elements.at(-1) as t.ObjectExpression | null | undefined;
  const firstValue = (last?.properties[0] as t.ObjectProperty | undefined)?.value;
  const quote = quoteOf(source, firstValue);
  const indent = last ? indentAt(source, last.start ?? 0) : '  ';
  // Fields one indent deeper than the entry, as in the last multi-line entry if there is one.
  const firstField = last?.properties[0];
  const onOwnLine = firstField && source.slice(last.start ?? 0, firstField.start ?? 0).includes('\n');
  const inner = onOwnLine ? indentAt(source, firstField.start ?? 0) : `${indent}${indent || '  '}`;
  const fields = Object.entries(binding)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${inner}${key}: ${quote}${value}${quote},\n`)
    .join('');
  const entry = `${indent}{\n${fields}${indent}},`;
  if (last) {
    const { end, comma } = endWithComma(source, last);
    edit.appendLeft(end, `${comma ? '' : ','}\n${entry}`);
  } else {
    edit.appendLeft((array.end ?? 1) - 1, `\n${entry}\n`);
  }
  return edit.toString();
}

function unreadable(index: number, why: string): UserError {
  return new UserError(
    `${QUEUES_FILE}: queue #${index + 1} ${why}; be-worker reads plain { queue: '…', task: '…' } entries`,
  );
}

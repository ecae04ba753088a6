// What reaches a log line is bounded: a 200 KB task name or error message makes a line of a few KB,
// still one JSON object, with each long string cut and marked.
import { afterEach, describe, expect, it } from 'vitest';
import { addLogSink, createLogger, MAX_LOG_STRING } from '../../templates/worker/src/runtime/logger.ts';

let removeSink: (() => void) | undefined;
afterEach(() => removeSink?.());

/** A logger whose lines are kept, as the fluent integration's sink gets them. */
function capture(level = 'info') {
  const lines: string[] = [];
  removeSink = addLogSink((line) => lines.push(line));
  return { log: createLogger('log-test', level), lines };
}

const cut = (text: string) => `${text.slice(0, MAX_LOG_STRING)}… [${text.length - MAX_LOG_STRING} more characters]`;

describe('log lines', () => {
  it.each([MAX_LOG_STRING + 1, 3 * MAX_LOG_STRING + 7, 200_000, 1_000_000])(
    'cut each string of %i characters (bindings, fields, err.message, msg), and stay JSON',
    (size) => {
      const { log, lines } = capture();
      const long = (letter: string) => letter.repeat(size);
      log
        .child({ task: long('t') })
        .error({ err: new Error(long('e')), args: [long('a'), { deep: long('d') }] }, long('m'));
      expect(lines).toHaveLength(1);
      const line = lines[0] ?? '';
      expect(line.length).toBeLessThan(8 * MAX_LOG_STRING + 1000);
      expect(line.endsWith('\n')).toBe(true);
      const parsed = JSON.parse(line);
      expect(parsed.task).toBe(cut(long('t')));
      expect(parsed.msg).toBe(cut(long('m')));
      expect(parsed.err.message).toBe(cut(long('e')));
      expect(parsed.err.stack.length).toBeLessThan(MAX_LOG_STRING + 50);
      expect(parsed.args).toEqual([cut(long('a')), { deep: cut(long('d')) }]);
      expect(parsed.level).toBe(50);
      expect(parsed.worker).toBe('log-test');
    },
  );

  it.each([0, 1, 100, MAX_LOG_STRING])('keep a string of %i characters whole', (size) => {
    const { log, lines } = capture('debug');
    const text = 'é'.repeat(size);
    log.child({ task: text }).debug({ field: text, other: 'x'.repeat(MAX_LOG_STRING) }, text);
    const parsed = JSON.parse(lines[0] ?? '');
    expect([parsed.task, parsed.field, parsed.msg]).toEqual([text, text, text]);
    expect(parsed.other).toBe('x'.repeat(MAX_LOG_STRING));
  });

  it('never carry the credentials of a URL', () => {
    const { log, lines } = capture();
    log.warn({ err: new Error('connect ECONNREFUSED redis://default:s3cret@redis:6379') }, 'redis unreachable');
    log.info({ url: 'http://svcuser:Pa55w0rdXYZ@sqs:9324/queue' }, 'at http://svcuser:Pa55w0rdXYZ@sqs:9324');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toMatch(/s3cret|Pa55w0rdXYZ|svcuser/);
      expect(line).toContain('://***@');
      JSON.parse(line);
    }
  });
});

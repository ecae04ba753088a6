// collate (src/collate.ts) sorts as localeCompare does in English, without loading ICU's collator.
import { describe, expect, it } from 'vitest';
import { collate } from '../src/collate.ts';
import { INTEGRATIONS } from '../src/integrations/index.ts';
import { renderWorker } from '../src/render.ts';
import { validateSpec } from '../src/spec.ts';

const english = (a: string, b: string) => Math.sign(a.localeCompare(b, 'en'));

/** A random string of 0–7 characters from `alphabet`, from a seeded generator (reruns are alike). */
function strings(alphabet: string, count: number, seed: number): string[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(next() * 8) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''),
  );
}

const PRINTABLE = Array.from({ length: 95 }, (_, index) => String.fromCharCode(32 + index)).join('');

describe('collate', () => {
  it.each([
    ['printable ASCII', PRINTABLE],
    ['few characters, so that prefixes and case decide', 'aAbB-_./@0 '],
    ['with control characters and accents, which go to localeCompare', 'aAe\u00e9\u0301\u0000\t-_ '],
  ])('agrees with localeCompare on %s', (_, alphabet) => {
    const words = strings(alphabet, 400, alphabet.length);
    const disagreements = words.flatMap((a) =>
      words
        .filter((b) => Math.sign(collate(a, b)) !== english(a, b))
        .map((b) => `${JSON.stringify(a)} vs ${JSON.stringify(b)}`),
    );
    expect(disagreements).toEqual([]);
  });

  it('orders a worker with every integration as localeCompare does: its files and its dependencies', async () => {
    const spec = validateSpec({
      name: 'all-on',
      description: 'every integration',
      queues: [
        { queue: 'emails-send', task: 'send' },
        { queue: 'add', task: 'add' },
      ],
      env: 'local',
      user: 'dev',
      region: 'us-west-1',
      packageManager: 'npm',
      integrations: INTEGRATIONS.map(({ name }) => name),
    });
    const tree = await renderWorker(spec);
    const paths = [...tree.keys()];
    const dependencies = Object.keys(JSON.parse(tree.get('package.json') ?? '{}').dependencies);
    for (const list of [paths, dependencies]) {
      expect(list).toEqual([...list].sort((a, b) => a.localeCompare(b, 'en')));
      expect([...list].reverse().sort(collate)).toEqual(list);
    }
  });
});

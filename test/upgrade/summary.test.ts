// The Markdown an upgrade writes for a merge request (be-worker upgrade --summary), on small plans;
// test/e2e/upgrade-ci-job.test.ts reads it where the generated CI's job puts it.
import { describe, expect, it } from 'vitest';
import { workerChanges } from '../../src/upgrade/changelog.ts';
import { planFiles } from '../../src/upgrade/plan.ts';
import { upgradeSummary } from '../../src/upgrade/summary.ts';

const labels = { ours: 'yours', base: 'create-be-worker 1.0.0', theirs: 'create-be-worker 1.3.0' };
const tree = (files: Record<string, string>) => new Map(Object.entries(files));
const sources = { base: 'node_modules/create-be-worker', theirs: 'this be-worker' };

async function summary(
  base: Record<string, string>,
  ours: Record<string, string>,
  theirs: Record<string, string>,
  changelog = '',
) {
  const files = await planFiles(tree(base), tree(theirs), async (path) => ours[path], { labels, version: '1.3.0' });
  return upgradeSummary('shop', { ...files, upToDate: false, from: '1.0.0', to: '1.3.0', sources, changelog });
}

describe('upgradeSummary', () => {
  it("lists each file with its lines, and the CHANGELOG's sections for workers of every release crossed", async () => {
    const changelog = workerChanges(
      [
        '## [1.3.0] - 2026-03-01',
        '### Generated workers',
        '- three, on',
        '  two lines',
        '### Changed',
        '- the CLI only',
        '## [1.2.0] - 2026-02-01',
        '### Generated workers',
        '- two',
        '## [1.0.0] - 2026-01-01',
        '### Generated workers',
        '- one',
      ].join('\n'),
      '1.0.0',
      '1.3.0',
    );
    const text = await summary(
      { Dockerfile: 'FROM a\nRUN x\n', 'old.ts': 'o\n' },
      { Dockerfile: 'FROM a\nRUN x\n', 'old.ts': 'o\n' },
      { Dockerfile: 'FROM b\nRUN x\nRUN y\n', 'new.ts': 'n\n' },
      changelog,
    );
    expect(text).toBe(
      [
        '`be-worker upgrade` brings shop from create-be-worker 1.0.0 to 1.3.0.',
        '',
        '- base: node_modules/create-be-worker',
        '- new: this be-worker',
        '',
        '### Files (3)',
        '',
        '| file | change | lines |',
        '|---|---|---|',
        '| `Dockerfile` | replaced | +2 −1 |',
        '| `new.ts` | added | +1 |',
        '| `old.ts` | removed | −1 |',
        '',
        '### What changed for workers',
        '',
        '#### 1.3.0',
        '',
        '- three, on',
        '  two lines',
        '#### 1.2.0',
        '',
        '- two',
        '',
      ].join('\n'),
    );
  });

  it('puts the conflicts first, those marked in files and those in package.json keys, and the notes; says when the CHANGELOG has nothing', async () => {
    const pkg = (range: string) => `${JSON.stringify({ dependencies: { pino: range } }, null, 2)}\n`;
    const text = await summary(
      { 'a.ts': 'x\n', 'package.json': pkg('^1.0.0'), 'gone.ts': 'g\n' },
      { 'a.ts': 'mine\n', 'package.json': pkg('^1.1.0'), 'gone.ts': 'g, ours\n' },
      { 'a.ts': 'theirs\n', 'package.json': pkg('^1.2.0') },
    );
    const [intro, conflicts] = text.split('\n\n').slice(0, 3).slice(1);
    expect(intro).toContain('- base:');
    expect(conflicts).toBe(
      [
        '> **Conflicts are left in 2 file(s), committed as they are: resolve them in this branch (search for `<<<<<<<`), run the checks, then merge.**',
        '>',
        '> - `a.ts` (1 conflict marked)',
        '> - `package.json`: dependencies.pino: yours "^1.1.0" kept, create-be-worker 1.3.0 has "^1.2.0"',
      ].join('\n'),
    );
    // The markers around the team's line; package.json keeps the team's value: no change to list.
    expect(text).toContain('### Files (1)\n\n| file | change | lines |\n|---|---|---|\n| `a.ts` | conflict | +4 |\n');
    expect(text).toContain(
      '### Kept as you have them\n\n- gone.ts: create-be-worker 1.3.0 no longer has it, but you changed it; kept',
    );
    expect(text).toMatch(
      /### What changed for workers\n\nThe CHANGELOG says nothing about generated workers from 1\.0\.0 to 1\.3\.0\.\n$/,
    );
  });

  it('counts no lines in a binary file (the vendored CLI of a worker made by a clone)', () => {
    const tarball = 'vendor/create-be-worker-1.3.0.tgz';
    const text = upgradeSummary('shop', {
      changes: new Map([[tarball, { before: undefined, after: new Uint8Array([31, 139, 8]) }]]),
      actions: new Map([[tarball, 'added']]),
      conflicts: [],
      notes: [],
      upToDate: false,
      from: '1.0.0',
      to: '1.3.0',
      sources,
      changelog: '',
    });
    expect(text).toContain(`| \`${tarball}\` | added | binary |`);
  });
});

// The per-file rules of `be-worker upgrade`, on small trees: base (what the old version rendered),
// ours (the repository) and theirs (what the new version renders).
import { describe, expect, it } from 'vitest';
import { compareVersions, workerChanges } from '../../src/upgrade/changelog.ts';
import { planFiles, sameRender } from '../../src/upgrade/plan.ts';

const labels = { ours: 'yours', base: 'create-be-worker 1.0.0', theirs: 'create-be-worker 1.1.0' };
const tree = (files: Record<string, string>) => new Map(Object.entries(files));

function plan(base: Record<string, string>, ours: Record<string, string>, theirs: Record<string, string>) {
  return planFiles(tree(base), tree(theirs), async (path) => ours[path], { labels, version: '1.1.0' });
}

const lines = (...values: string[]) => `${values.join('\n')}\n`;
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('planFiles', () => {
  it('replaces what the team left alone, keeps what only the team changed, adds new template files', async () => {
    const result = await plan(
      { Dockerfile: 'FROM a\n', 'src/runtime/x.ts': 'x\n', 'README.md': 'r\n' },
      { Dockerfile: 'FROM a\n', 'src/runtime/x.ts': 'x mine\n', 'README.md': 'r\n' },
      { Dockerfile: 'FROM b\n', 'src/runtime/x.ts': 'x\n', 'README.md': 'r\n', 'src/runtime/new.ts': 'n\n' },
    );
    expect([...result.actions]).toEqual([
      ['Dockerfile', 'replaced'],
      ['src/runtime/new.ts', 'added'],
    ]);
    expect(result.changes.get('Dockerfile')).toEqual({ before: 'FROM a\n', after: 'FROM b\n' });
    expect(result.conflicts).toEqual([]);
  });

  it('merges changes on both sides line-wise, and marks the overlaps', async () => {
    const base = lines('one', 'two', 'three', 'four', 'five', 'six', 'seven');
    const result = await plan(
      { 'a.ts': base, 'b.ts': base },
      { 'a.ts': base.replace('one', 'ONE (mine)'), 'b.ts': base.replace('four', 'four (mine)') },
      { 'a.ts': base.replace('seven', 'SEVEN (new)'), 'b.ts': base.replace('four', 'four (new)') },
    );
    expect(result.changes.get('a.ts')?.after).toBe(
      lines('ONE (mine)', 'two', 'three', 'four', 'five', 'six', 'SEVEN (new)'),
    );
    expect(result.actions.get('a.ts')).toBe('merged');
    expect(result.changes.get('b.ts')?.after).toContain(
      '<<<<<<< yours\nfour (mine)\n=======\nfour (new)\n>>>>>>> create-be-worker 1.1.0\n',
    );
    expect(result.conflicts).toEqual([{ path: 'b.ts', hunks: 1 }]);
  });

  it('leaves a deleted file deleted (said when the template changed it), and removes dropped files only if untouched', async () => {
    const result = await plan(
      { 'gone.ts': 'g\n', 'same.ts': 's\n', 'dropped.ts': 'd\n', 'dropped-mine.ts': 'm\n' },
      { 'dropped.ts': 'd\n', 'dropped-mine.ts': 'm (mine)\n' },
      { 'gone.ts': 'g2\n', 'same.ts': 's\n' },
    );
    expect([...result.actions]).toEqual([['dropped.ts', 'removed']]);
    expect(result.changes.get('dropped.ts')).toEqual({ before: 'd\n', after: undefined });
    expect(result.notes).toEqual([
      'dropped-mine.ts: create-be-worker 1.1.0 no longer has it, but you changed it; kept',
      'gone.ts: you deleted it and create-be-worker 1.1.0 changed it; left deleted',
    ]);
  });

  it("never rewrites the team's tasks and task tests, but merges the task registry", async () => {
    const base = { 'src/tasks/add.ts': 'a\n', 'test/tasks/add.test.ts': 't\n', 'src/tasks/index.ts': 'i\n' };
    const result = await plan(
      base,
      { 'src/tasks/add.ts': 'a\n', 'src/tasks/index.ts': 'i\n' },
      { 'src/tasks/add.ts': 'a2\n', 'test/tasks/add.test.ts': 't2\n', 'src/tasks/index.ts': 'i2\n' },
    );
    expect([...result.actions]).toEqual([['src/tasks/index.ts', 'replaced']]);
  });

  it('marks a new template file whose path the team already used as a conflict', async () => {
    const result = await plan({}, { 'src/x.ts': 'mine\n' }, { 'src/x.ts': 'template\n' });
    expect(result.conflicts).toEqual([{ path: 'src/x.ts', hunks: 1 }]);
  });

  describe('package.json, merged as data', () => {
    const base = {
      name: 'w',
      scripts: { lint: 'biome check .', test: 'vitest run' },
      dependencies: { pino: '^10.0.0', zod: '^4.0.0' },
      devDependencies: { 'create-be-worker': '1.0.0', vitest: '^5.0.0' },
    };

    it("applies the template's dependency and script changes and keeps the team's own", async () => {
      const ours = {
        ...base,
        scripts: { ...base.scripts, seed: 'node seed.ts' },
        dependencies: { ...base.dependencies, 'lodash.merge': '^4.6.2' },
      };
      const theirs = {
        ...base,
        scripts: { ...base.scripts, test: 'vitest run --passWithNoTests' },
        dependencies: { pino: '^10.5.0', zod: '^4.0.0' },
        devDependencies: { 'create-be-worker': '1.1.0', vitest: '^5.0.0' },
      };
      const result = await plan(
        { 'package.json': json(base) },
        { 'package.json': json(ours) },
        { 'package.json': json(theirs) },
      );
      expect(JSON.parse(result.changes.get('package.json')?.after ?? '')).toEqual({
        name: 'w',
        scripts: { lint: 'biome check .', test: 'vitest run --passWithNoTests', seed: 'node seed.ts' },
        dependencies: { 'lodash.merge': '^4.6.2', pino: '^10.5.0', zod: '^4.0.0' },
        devDependencies: { 'create-be-worker': '1.1.0', vitest: '^5.0.0' },
      });
      expect(result.conflicts).toEqual([]);
    });

    it("keeps the team's value where both changed a key, names it, and always moves the pin", async () => {
      // The team pinned by path (a clone); the new template has no pin: it moves to the new version.
      const ours = {
        ...base,
        dependencies: { pino: '^10.1.0', zod: '^4.0.0' },
        devDependencies: { ...base.devDependencies, 'create-be-worker': 'file:../cbw' },
      };
      const theirs = {
        ...base,
        dependencies: { pino: '^10.5.0', zod: '^4.0.0' },
        devDependencies: { vitest: '^5.0.0' },
      };
      const result = await plan(
        { 'package.json': json(base) },
        { 'package.json': json(ours) },
        { 'package.json': json(theirs) },
      );
      const merged = JSON.parse(result.changes.get('package.json')?.after ?? '');
      expect(merged.dependencies.pino).toBe('^10.1.0');
      expect(merged.devDependencies['create-be-worker']).toBe('1.1.0');
      expect(result.conflicts).toEqual([
        {
          path: 'package.json',
          keys: ['dependencies.pino: yours "^10.1.0" kept, create-be-worker 1.1.0 has "^10.5.0"'],
        },
      ]);
    });

    it('re-pins a package.json laid out by hand, its other fields as they were', async () => {
      const ours = `{"name":"w","scripts":{"lint":"biome check .","test":"vitest run"},"dependencies":{"pino":"^10.0.0","zod":"^4.0.0"},"devDependencies":{"create-be-worker":"1.0.0","vitest":"^5.0.0"},"private":true}`;
      const theirs = { ...base, devDependencies: { ...base.devDependencies, 'create-be-worker': '1.1.0' } };
      const result = await plan(
        { 'package.json': json(base) },
        { 'package.json': ours },
        { 'package.json': json(theirs) },
      );
      expect(JSON.parse(result.changes.get('package.json')?.after ?? '')).toEqual({
        ...JSON.parse(ours),
        devDependencies: { 'create-be-worker': '1.1.0', vitest: '^5.0.0' },
      });
    });
  });

  it('moves be-worker.json to the new versions and keeps its answers', async () => {
    const answers = { name: 'w', queues: [{ queue: 'q', task: 't' }] };
    const result = await plan(
      { 'be-worker.json': json({ cliVersion: '1.0.0', templateVersion: '1', answers: { ...answers, queues: [] } }) },
      { 'be-worker.json': json({ cliVersion: '1.0.0', templateVersion: '1', answers }) },
      { 'be-worker.json': json({ cliVersion: '1.1.0', templateVersion: '2', answers: { ...answers, queues: [] } }) },
    );
    expect(JSON.parse(result.changes.get('be-worker.json')?.after ?? '')).toEqual({
      cliVersion: '1.1.0',
      templateVersion: '2',
      answers,
    });
  });
});

describe("what rendered it: be-worker.json's templates", () => {
  const answers = { name: 'w', queues: [{ queue: 'q', task: 't' }] };
  const older = { cliVersion: '1.0.0', templateVersion: '1', answers };
  const made = { ...older, templates: { sha256: 'a'.repeat(64), commit: 'c'.repeat(40) } };
  const now = { cliVersion: '1.0.0', templateVersion: '1', templates: { sha256: 'b'.repeat(64) }, answers };

  it('follow the new render (a commit it has not, gone; a worker that had none gets them), first in the file', async () => {
    const team = { ...answers, queues: [...answers.queues, { queue: 'r', task: 'u' }] };
    for (const ours of [made, older]) {
      const result = await plan(
        { 'be-worker.json': json(made) },
        { 'be-worker.json': json({ ...ours, answers: team }) },
        { 'be-worker.json': json(now) },
      );
      const after = result.changes.get('be-worker.json')?.after ?? '';
      expect(after).toBe(json({ ...now, answers: team }));
    }
  });

  it('aside, renders that differ nowhere else are the same; any other byte or file makes them differ', () => {
    const base = tree({ 'be-worker.json': json(made), Dockerfile: 'FROM a\n' });
    expect(sameRender(base, tree({ 'be-worker.json': json(now), Dockerfile: 'FROM a\n' }))).toBe(true);
    expect(sameRender(base, tree({ 'be-worker.json': json(older), Dockerfile: 'FROM a\n' }))).toBe(true);
    expect(sameRender(base, tree({ 'be-worker.json': json(now), Dockerfile: 'FROM b\n' }))).toBe(false);
    expect(sameRender(base, tree({ 'be-worker.json': json(now), Dockerfile: 'FROM a\n', 'new.ts': 'n\n' }))).toBe(
      false,
    );
    expect(sameRender(base, tree({ 'be-worker.json': json(now), 'Dockerfile.old': 'FROM a\n' }))).toBe(false);
    const otherAnswers = { ...now, answers: { ...answers, name: 'x' } };
    expect(sameRender(base, tree({ 'be-worker.json': json(otherAnswers), Dockerfile: 'FROM a\n' }))).toBe(false);
  });
});

describe('the CHANGELOG for workers', () => {
  const changelog = `# Changelog

## [Unreleased]

### Generated workers
- not released yet

## [1.2.0] - 2027-02-01

### Generated workers
- the lease keeper restarts

#### Fixed
- a typo

### Added
- a CLI flag

## [1.1.0] - 2027-01-01

### Changed
- CLI only

### Generated workers
- Dockerfile on Node 26

## [1.0.0] - 2026-12-01

### Generated workers
- the first release
`;

  it('keeps the "Generated workers" entries of the releases after the old version up to the new one', () => {
    expect(workerChanges(changelog, '1.0.0', '1.2.0')).toBe(
      [
        '1.2.0:',
        '  - the lease keeper restarts',
        '  #### Fixed',
        '  - a typo',
        '1.1.0:',
        '  - Dockerfile on Node 26',
      ].join('\n'),
    );
    expect(workerChanges(changelog, '1.0.0', '1.1.0')).toBe('1.1.0:\n  - Dockerfile on Node 26');
  });

  it('orders versions as semver does', () => {
    expect(compareVersions('0.10.0', '0.9.1')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0-rc.2', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('1.0.0-rc.10', '1.0.0-rc.9')).toBeGreaterThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });
});

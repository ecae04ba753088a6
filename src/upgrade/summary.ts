// What an upgrade did, in Markdown, for a merge request's description (be-worker upgrade --summary,
// which the generated CI's scheduled upgrade job passes): conflicts first, so a partial upgrade is
// never silent; then each file and its lines changed; then the CHANGELOG sections crossed.
import { diffLines } from 'diff';
import type { UpgradePlan } from './index.ts';
import { PACKAGE } from './packages.ts';

type Planned = Extract<UpgradePlan, { upToDate: false }>;

export function upgradeSummary(name: string, plan: Planned): string {
  const parts = [
    `\`be-worker upgrade\` brings ${name} from ${PACKAGE} ${plan.from} to ${plan.to}.\n\n- base: ${plan.sources.base}\n- new: ${plan.sources.theirs}`,
  ];
  if (plan.conflicts.length > 0) {
    const lines = plan.conflicts.flatMap(({ path, hunks, keys }) =>
      keys
        ? keys.map((key) => `> - \`${path}\`: ${key}`)
        : [`> - \`${path}\` (${hunks} conflict${hunks === 1 ? '' : 's'} marked)`],
    );
    parts.push(
      [
        `> **Conflicts are left in ${plan.conflicts.length} file(s), committed as they are: resolve them in this branch (search for \`<<<<<<<\`), run the checks, then merge.**`,
        '>',
        ...lines,
      ].join('\n'),
    );
  }
  const rows = [...plan.actions].map(([path, action]) => {
    const change = plan.changes.get(path);
    return `| \`${path}\` | ${action} | ${lineCounts(change?.before, change?.after)} |`;
  });
  parts.push([`### Files (${rows.length})`, '', '| file | change | lines |', '|---|---|---|', ...rows].join('\n'));
  if (plan.notes.length > 0)
    parts.push(['### Kept as you have them', '', ...plan.notes.map((note) => `- ${note}`)].join('\n'));
  parts.push(`### What changed for workers\n\n${changelogMarkdown(plan.changelog, plan.from, plan.to)}`);
  return `${parts.join('\n\n')}\n`;
}

/** "+3 −1": the lines a file gained and lost; a binary file (the vendored CLI) has none to count. */
function lineCounts(before: string | Uint8Array = '', after: string | Uint8Array = ''): string {
  if (typeof before !== 'string' || typeof after !== 'string') return 'binary';
  let added = 0;
  let removed = 0;
  for (const part of diffLines(before, after)) {
    if (part.added) added += part.count ?? 0;
    if (part.removed) removed += part.count ?? 0;
  }
  return [added > 0 ? `+${added}` : '', removed > 0 ? `−${removed}` : ''].filter(Boolean).join(' ') || '±0';
}

/** workerChanges' text ("1.2.0:" then indented entries) as Markdown: a heading per release. */
function changelogMarkdown(changelog: string, from: string, to: string): string {
  if (changelog.trim() === '') return `The CHANGELOG says nothing about generated workers from ${from} to ${to}.`;
  return changelog
    .split('\n')
    .map((line) => (/^\S.*:$/.test(line) ? `#### ${line.slice(0, -1)}\n` : line.replace(/^ {2}/, '')))
    .join('\n');
}

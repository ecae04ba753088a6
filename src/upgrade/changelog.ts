// What changed for generated workers between two versions: the "### Generated workers" part of each
// release in CHANGELOG.md (its other parts are about the CLI).

const RELEASE = /^## \[(\d+\.\d+\.\d+[^\]]*)\]/;
const SECTION = '### Generated workers';

/** The entries of the releases after `from`, up to and including `to`, newest first. */
export function workerChanges(changelog: string, from: string, to: string): string {
  const out: string[] = [];
  let release: string | undefined;
  let inSection = false;
  for (const line of changelog.split('\n')) {
    const heading = RELEASE.exec(line);
    if (heading || line.startsWith('## ') || line.startsWith('### ')) {
      release = heading?.[1] ?? (line.startsWith('### ') ? release : undefined);
      inSection =
        line.trim() === SECTION &&
        release !== undefined &&
        compareVersions(release, from) > 0 &&
        compareVersions(release, to) <= 0;
      if (inSection) out.push(`${release}:`);
      continue;
    }
    if (inSection && line.trim() !== '') out.push(`  ${line}`);
  }
  return out.join('\n');
}

/** Semantic versions compared: negative when a comes first. A pre-release comes before its release. */
export function compareVersions(a: string, b: string): number {
  const [coreA = '', preA] = splitOnce(a, '-');
  const [coreB = '', preB] = splitOnce(b, '-');
  const numbersA = coreA.split('.').map(Number);
  const numbersB = coreB.split('.').map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (numbersA[index] ?? 0) - (numbersB[index] ?? 0);
    if (difference !== 0) return difference;
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return preA.localeCompare(preB, 'en', { numeric: true });
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index === -1 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

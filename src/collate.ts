// The order of String.prototype.localeCompare (ICU's root collation, which English uses), without
// ICU's collator: its first use costs ~10 ms, a tenth of a run of create-be-worker. Exact for
// printable ASCII, which every file path and package name the CLI sorts is written in; any other
// character at the place that decides goes to localeCompare (test/collate.test.ts compares both).

/** Printable ASCII in the order of the collation's first level; a capital weighs as its small letter. */
const ORDER = ` _-,;:!?.'"()[]{}@*/\\&#%\`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz`;
const WEIGHT = new Int8Array(128).fill(-1);
for (const [index, char] of [...ORDER].entries()) {
  WEIGHT[char.charCodeAt(0)] = index;
  WEIGHT[char.toUpperCase().charCodeAt(0)] = index;
}

const weight = (code: number): number => (code < 128 ? (WEIGHT[code] ?? -1) : -1);

/** Negative when `a` sorts before `b`, as `a.localeCompare(b)` in English. */
export function collate(a: string, b: string): number {
  // The first level decides at its first difference; if there is none, the first difference of
  // case does (a small letter first).
  let caseOrder = 0;
  const common = Math.min(a.length, b.length);
  for (let index = 0; index < common; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    const [wx, wy] = [weight(x), weight(y)];
    if (wx < 0 || wy < 0) return a.localeCompare(b);
    if (wx !== wy) return wx - wy;
    caseOrder ||= x > y ? -1 : 1;
  }
  // The longer one is first-level longer, unless what it has more is ignorable (not printable ASCII).
  const rest = a.length > b.length ? a.slice(common) : b.slice(common);
  for (let index = 0; index < rest.length; index++) if (weight(rest.charCodeAt(index)) < 0) return a.localeCompare(b);
  return a.length - b.length || caseOrder;
}

// The top self-time frames of a .cpuprofile (node --cpu-prof), and the share by where the code lives:
//   node bench/profile-top.ts bench/profiles/CPU.….cpuprofile [frames=25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const [file = '', top = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const self = new Map<string, number>();
/** Time with the frame anywhere on the stack, for our runtime's frames and the libraries they call. */
const inclusive = new Map<string, number>();
const where = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index] ?? 0;
  const { functionName, url, lineNumber } = byId.get(id)?.callFrame ?? { functionName: '?', url: '', lineNumber: 0 };
  // Shares of the busy time: the idle time is the wait for SQS, and the long poll at stop.
  if (functionName === '(idle)') {
    idle += delta;
    return;
  }
  total += delta;
  const short = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/templates\/worker\/src\//, '');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + delta);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at)?.callFrame;
    if (
      !frame ||
      !/runtime\/|pino\/lib\/proto|prom-client\/lib\/(counter|histogram)|zod\/v4\/classic\/schemas/.test(frame.url)
    )
      continue;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(node_modules|src)\//, '')}:${frame.lineNumber + 1}`;
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
  }
  const area = /templates\/worker\/src\/runtime/.test(url)
    ? 'ours (runtime/)'
    : /node_modules\/(@aws-sdk|@smithy|@aws-crypto)/.test(url)
      ? 'AWS SDK'
      : /node_modules\/(zod|pino|fast-xml|@sinclair)/.test(url)
        ? `lib ${url.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1]}`
        : /node_modules/.test(url)
          ? 'other node_modules'
          : url.startsWith('node:') || url === ''
            ? functionName.startsWith('(')
              ? functionName
              : 'node internals / native'
            : 'other';
  where.set(area, (where.get(area) ?? 0) + delta);
});
const pct = (value: number) => `${((100 * value) / total).toFixed(1)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle`);
for (const [area, value] of [...where].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(value).padStart(7)}  ${area}`);
console.log('top self time:');
for (const [key, value] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`  ${pct(value).padStart(7)}  ${key}`);
console.log('inclusive (ours and the libraries we call):');
for (const [key, value] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`  ${pct(value).padStart(7)}  ${key}`);

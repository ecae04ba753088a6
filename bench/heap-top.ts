// The allocation sites of a .heapprofile (node --heap-prof), by self size, and by where the code lives:
//   node bench/heap-top.ts bench/profiles/Heap.….heapprofile [sites=20]
import { readFileSync } from 'node:fs';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
const [file = '', top = '20'] = process.argv.slice(2);
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
const sites = new Map<string, number>();
const ours = new Map<string, number>();
let total = 0;
const walk = (node: HeapNode, ourFrame: string | undefined) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/templates\/worker\/src\//, '');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  // The innermost frame of the runtime on the stack: which of our code the allocation is for.
  const mine = /templates\/worker\/src\/runtime/.test(url) ? key : ourFrame;
  total += node.selfSize;
  sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
  if (mine) ours.set(mine, (ours.get(mine) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child, mine);
};
walk(head, undefined);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
console.log(`${file}: ${mb(total)} sampled allocations live at exit or sampled`);
console.log('by allocation site (self):');
for (const [key, size] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`  ${mb(size).padStart(9)}  ${key}`);
console.log('by the innermost runtime frame on the stack:');
for (const [key, size] of [...ours].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`  ${mb(size).padStart(9)}  ${key}`);

// Records every module a process loads, written at its exit to $IMPORTS_LOG.<slot> ("primary" for a
// prefork primary): `NODE_OPTIONS=--import=<this file>`, for the test that a primary loads none of
// the work. Registered before the entry point's imports, so a static import is seen too.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  const slot = process.env.BE_WORKER_PROCESS ?? 'primary';
  writeFileSync(`${process.env.IMPORTS_LOG}.${slot}`, loaded.join('\n'));
});

#!/usr/bin/env node
import module from 'node:module';

// Checked before anything loads: older Node.js versions would fail on syntax, not with a reason.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `create-be-worker needs Node.js 22 or newer; this is ${process.version}. Install Node.js 24 LTS (https://nodejs.org, or nvm install 24) and run it again.`,
  );
  process.exit(1);
}
// V8 keeps the compiled bundle in a cache (os.tmpdir()), so later runs skip parsing it.
module.enableCompileCache?.();
await import('../dist/create-be-worker.js');

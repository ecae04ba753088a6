#!/usr/bin/env node
import module from 'node:module';
import { requireNode } from './node-check.js';

// Checked before the bundle loads: an older Node.js would fail inside it, not with a reason.
requireNode('create-be-worker');
// V8 keeps the compiled bundle in a cache (os.tmpdir()), so later runs skip parsing it.
module.enableCompileCache?.();
// CommonJS (tsup.config.ts): the flags and --help, in one file; a run imports the rest.
module.createRequire(import.meta.url)('../dist/create-be-worker.cjs');

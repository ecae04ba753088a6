// Preloaded with `node --import` into a bin under test: the first file written into a staging
// directory (src/tree.ts) waits, after printing PAUSE_MARK, until SIGINT (or 20 s), so a test can
// press Ctrl-C while the project is being written. The code under test is not changed.
import fs from 'node:fs';
import module from 'node:module';

export const PAUSE_MARK = 'test: writing paused';

const writeFile = fs.promises.writeFile;
let paused = false;
fs.promises.writeFile = async (...args: Parameters<typeof writeFile>) => {
  if (!paused && String(args[0]).includes('.staging-')) {
    paused = true;
    process.stderr.write(`\n${PAUSE_MARK}\n`);
    await new Promise<void>((resume) => {
      const timer = setTimeout(resume, 20_000);
      process.once('SIGINT', () => {
        clearTimeout(timer);
        resume();
      });
    });
  }
  return writeFile(...args);
};
// The bundle imports writeFile from node:fs/promises: update that binding too.
module.syncBuiltinESMExports();

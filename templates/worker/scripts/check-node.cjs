// Run first by the npm scripts that run this worker (dev, send, start, test): on an older Node.js
// they would fail later without saying why (ERR_UNKNOWN_FILE_EXTENSION ".ts", "Map.groupBy is
// not a function"). CommonJS using nothing recent, so that any Node.js runs it. The minimum is
// package.json's engines.node.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { engines, name } = require('../package.json');

const [major = 0, minor = 0] = (engines.node.match(/\d+/g) || []).map(Number);
const [haveMajor, haveMinor] = process.versions.node.split('.').map(Number);
// The sentence and the exit code (2: the environment is not right) of create-be-worker's own
// check (bin/node-check.js), so that an old Node.js reads the same wherever it is met.
if (haveMajor < major || (haveMajor === major && haveMinor < minor)) {
  console.error(
    `${name} needs Node.js ${major}.${minor} or newer and this is ${process.version}: install Node.js 24 LTS (nvm install 24, or https://nodejs.org) and run it again.`,
  );
  process.exit(2);
}

// `npm run be-worker` runs the be-worker of the worker's devDependencies, never one from the
// registry (npx would fetch an unrelated public package): before the install, it says so.
if (process.argv[2] === 'be-worker' && !existsSync(join(__dirname, '..', 'node_modules', 'create-be-worker'))) {
  const packageManager = (process.env.npm_config_user_agent || 'npm').split('/')[0];
  console.error(`be-worker is not installed in this worker yet: run ${packageManager} install first.`);
  process.exit(2);
}

// The Node.js that create-be-worker and the workers it makes need: 22.18 is the first 22.x that
// runs .ts files without flags, as the generated worker's scripts do. Plain JavaScript without
// newer syntax, imported before anything else, so that an old Node.js hears why and not a crash.
export const MINIMUM_NODE = '22.18.0';

/** Exits (code 2: the environment is not right) with one sentence when this Node.js is older. */
export function requireNode(bin) {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const [needMajor, needMinor] = MINIMUM_NODE.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  console.error(
    `${bin} needs Node.js ${needMajor}.${needMinor} or newer and this is ${process.version}: install Node.js 24 LTS (nvm install 24, or https://nodejs.org) and run it again.`,
  );
  process.exit(2);
}

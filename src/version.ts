import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import packageJson from '../package.json' with { type: 'json' };
import templates from '../templates/versions.json' with { type: 'json' };

export const CLI_VERSION: string = packageJson.version;
/** Bumped when the generated files change, so `be-worker upgrade` knows what a repo has. */
export const TEMPLATE_VERSION: string = templates.worker;

/**
 * The images a generated worker's Dockerfile, docker-compose.yml and .gitlab-ci.yml run, each at an
 * exact version (a tag that moves would change what CI runs, next to its secrets, without a commit).
 * Node.js is one release for the image and CI alike, on the Debian release its tags name.
 */
export const IMAGES = {
  ...templates.images,
  node: `node:${templates.node}-trixie`,
  nodeSlim: `node:${templates.node}-trixie-slim`,
} as const;

/** The folder this CLI runs from (src/ and the bundle's dist/ are one level down), symlinks resolved. */
export const CLI_ROOT: string = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');

/**
 * Package managers install into node_modules (a project's, npx's cache, the global one); anywhere
 * else this is a clone of the repository, whose version the npm registry may not have.
 */
export function runsFromClone(root: string = CLI_ROOT): boolean {
  return !root.split(sep).includes('node_modules');
}

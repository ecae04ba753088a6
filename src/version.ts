import packageJson from '../package.json' with { type: 'json' };
import templates from '../templates/versions.json' with { type: 'json' };

export const CLI_VERSION: string = packageJson.version;
/** Bumped when the generated files change, so `be-worker upgrade` knows what a repo has. */
export const TEMPLATE_VERSION: string = templates.worker;

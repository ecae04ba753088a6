// The `create-be-worker` bin: its flags. What a run does is in create-run.ts, loaded only when
// it runs, so `--help` and `--version` start in the time node itself takes. The build makes this
// file a CommonJS bundle of its own (tsup.config.ts) that imports create-run.ts's ESM bundle.
import { Command, Option } from 'commander';
import { OPTIONS } from '../options.ts';
import type { Spec } from '../spec.ts';
import { CLI_VERSION } from '../version.ts';

const program = new Command('create-be-worker')
  .description('Create a TypeScript worker that runs Celery tasks from AWS SQS')
  .argument('[directory]', 'where to create it (default: ./<name>)')
  .version(CLI_VERSION, '-v, --version')
  .helpOption('-h, --help', 'show this help')
  .showHelpAfterError('(create-be-worker --help lists every flag)');

/** Each answer's flags, as registered with commander, and how each turns into the answer's raw text. */
const specFlags = new Map<keyof Spec, { option: Option; raw(value: unknown): string | string[] }[]>();
for (const definition of OPTIONS) {
  const option = new Option(definition.flag, definition.description);
  if (definition.repeatable)
    option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  const extras = (definition.extraFlags ?? []).map((extra) => ({
    option: new Option(extra.flag, extra.description),
    raw: (value: unknown) => extra.raw(value as string | true),
  }));
  specFlags.set(definition.key, [{ option, raw: (value) => value as string | string[] }, ...extras]);
  for (const each of [option, ...extras.map((extra) => extra.option)]) program.addOption(each);
}

/** The raw text of every answer given as flags; an answer given by several flags gets a list. */
function rawAnswers(flags: Record<string, unknown>): Partial<Record<keyof Spec, string | string[]>> {
  const raw: Partial<Record<keyof Spec, string | string[]>> = {};
  for (const [key, options] of specFlags) {
    const given = options.flatMap(({ option, raw: toRaw }) => {
      const value = flags[option.attributeName()];
      return value === undefined ? [] : [toRaw(value)];
    });
    if (given.length === 1) raw[key] = given[0];
    else if (given.length > 1) raw[key] = given.flat();
  }
  return raw;
}
program
  .option('--no-install', 'do not install dependencies')
  .option('--no-git', 'do not create a git repository and initial commit')
  .option('--dry-run', 'print the files that would be written; write nothing')
  .option('--force', 'write into a non-empty directory (replaced files are kept in a backup)')
  .option('-y, --yes', 'accept the defaults instead of asking (and confirm provisioning)')
  .option(
    '--provision',
    'create the SQS queues (<env>-<queue>; locally <user>-local-<queue>) and their err- DLQs after generating',
  )
  .option('--profile <profile>', 'AWS profile for --provision (default: the default credential chain)')
  .option('--endpoint <url>', 'a local SQS for --provision instead of AWS, e.g. http://localhost:4566');

program.addHelpText(
  'after',
  `
Examples:
  npx create-be-worker image-resizer   # asks the rest in a terminal
  npx create-be-worker image-resizer --queue image-resizer-resize:resize --with sentry --yes   # asks nothing`,
);

export interface RunFlags {
  install: boolean;
  git: boolean;
  dryRun?: boolean;
  force?: boolean;
  yes?: boolean;
  provision?: boolean;
  profile?: string;
  endpoint?: string;
  [flag: string]: unknown;
}

program.action(async (directory: string | undefined, flags: RunFlags) => {
  const { run } = await import('./create-run.ts');
  await run(directory, flags, rawAnswers(flags));
});

// Reported by create-run.ts, whose error classes are the ones a run throws.
program.parseAsync().catch(async (error: unknown) => (await import('./create-run.ts')).fail(error));

// The `create-be-worker` bin: flags and prompts in, a generated worker out. The only place that
// decides what is printed and which exit code the process ends with.
import { relative } from 'node:path';
import * as clack from '@clack/prompts';
import { Command, Option } from 'commander';
import kleur from 'kleur';
import { type Ask, collectSpec } from '../collect.ts';
import { type CreateResult, createWorker } from '../create.ts';
import { ONBOARDING_CHANNEL, onboardingMessage } from '../onboarding.ts';
import { OPTIONS } from '../options.ts';
import { commandsFor } from '../package-manager.ts';
import { taskTemplate } from '../render.ts';
import type { Spec } from '../spec.ts';
import { checkTarget, describeTree } from '../tree.ts';
import { CLI_VERSION } from '../version.ts';
import { provisionAndReport } from './provision-output.ts';
import { interactive, progress, reportError } from './ui.ts';

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
  .option('--provision', 'create the <user>-<env>-<queue> SQS queues and their err- DLQs after generating')
  .option('--profile <profile>', 'AWS profile for --provision (default: the default credential chain)')
  .option('--endpoint <url>', 'a local SQS for --provision instead of AWS, e.g. http://localhost:4566');

interface RunFlags {
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

program.action(async (directoryArgument: string | undefined, flags: RunFlags) => {
  // Ctrl-C outside a prompt: stop at the next step and clean up; a second one exits at once.
  const aborted = new AbortController();
  process.on('SIGINT', () => (aborted.signal.aborted ? process.exit(130) : aborted.abort()));
  if (interactive) clack.intro(kleur.bold(`create-be-worker ${CLI_VERSION}`));

  // Refuse a non-empty target before asking anything.
  if (directoryArgument && !flags.dryRun) await checkTarget(directoryArgument, flags);

  const spec = await collectSpec({
    directory: directoryArgument,
    yes: Boolean(flags.yes),
    flags: rawAnswers(flags),
    ...(interactive ? { ask } : {}),
  });
  const directory = directoryArgument ?? spec.name;
  const result = await createWorker(spec, {
    directory,
    force: flags.force,
    dryRun: flags.dryRun,
    install: flags.install,
    git: flags.git,
    signal: aborted.signal,
    progress: progress(),
  });
  if (flags.provision && !flags.dryRun) {
    const { name: worker, queues, env, user, region } = result.spec;
    await provisionAndReport(
      { worker, queues, env, user, region, profile: flags.profile, endpoint: flags.endpoint },
      { yes: flags.yes },
    );
  }
  printSummary(result, Boolean(flags.dryRun));
});

const ask: Ask = async (option, initial, validate) => {
  const prompt = option.prompt;
  if (!prompt) return initial;
  if (prompt.choices) {
    const chosen = await clack.multiselect({
      message: prompt.message,
      options: prompt.choices.map(({ value, hint }) => ({ value, label: value, hint })),
      initialValues: initial ? initial.split(',') : [],
      required: false,
    });
    return clack.isCancel(chosen) ? null : chosen.join(',') || 'none';
  }
  const answer = await clack.text({
    message: prompt.message,
    placeholder: initial || prompt.placeholder,
    defaultValue: initial,
    validate: (value) => validate(value ?? ''),
  });
  return clack.isCancel(answer) ? null : String(answer);
};

function printSummary(result: CreateResult, dryRun: boolean): void {
  if (dryRun) {
    console.log(`Would write ${result.tree.size} files to ${result.directory}:\n${describeTree(result.tree)}`);
    console.log('Dry run: nothing was written.');
    return;
  }
  const run = commandsFor(result.spec.packageManager).run;
  if (result.backup) console.log(kleur.yellow(`Replaced files were kept in ${result.backup}`));
  if (result.git === 'inside-repository')
    console.log('Inside an existing git repository: no new repository was created.');
  if (result.git === 'no-git') console.log(kleur.yellow('git was not found: no repository was created.'));
  const first = result.spec.queues[0];
  const steps: [string, string?][] = [
    [`cd ${relative(process.cwd(), result.directory) || '.'}`],
    ...(result.installed ? [] : [[`${result.spec.packageManager} install`] as [string]]),
    [`${run} dev`, 'local SQS + the worker, restarted on change'],
    [
      `${run} send -- ${first?.task} ${taskTemplate(first?.task ?? '').example.join(' ')}`,
      'in another terminal: send a task',
    ],
    [`${run} test`],
  ];
  const width = Math.max(...steps.map(([command]) => command.length));
  const lines = steps.map(([command, why]) => (why ? `${command.padEnd(width)}   # ${why}` : command));
  const message = `Next steps:\n${lines.map((line) => `  ${line}`).join('\n')}`;
  const onboarding = `To get it linked to GitLab, post in ${ONBOARDING_CHANNEL} (again any time: be-worker onboarding):\n\n${onboardingMessage(result.spec)}`;
  if (interactive) {
    clack.note(onboarding, 'Onboarding');
    clack.outro(message);
  } else console.log(`\n${onboarding}\n\n${message}`);
}

program.parseAsync().catch((error: unknown) => {
  process.exitCode = reportError(error);
});

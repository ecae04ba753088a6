// One run of `create-be-worker`, once its flags are read: prompts, the worker written, the
// summary. With create-be-worker.ts, the only place that decides what is printed.
import { basename, relative, resolve } from 'node:path';
import kleur from 'kleur';
import { cliDependency, registryToRemember, vendoredCliPath } from '../cli-source.ts';
import { type Ask, collectSpec } from '../collect.ts';
import { type CreateResult, createWorker } from '../create.ts';
import { CancelledError, EnvironmentError, UserError } from '../errors.ts';
import { ONBOARDING_CHANNEL, onboardingMessage } from '../onboarding.ts';
import {
  beWorkerCommand,
  commandsFor,
  PACKAGE_MANAGERS,
  type PackageManager,
  requirePackageManager,
} from '../package-manager.ts';
import { taskTemplate } from '../render.ts';
import type { Spec } from '../spec.ts';
import { checkTarget, describeTree, targetState } from '../tree.ts';
import { CLI_VERSION, runsFromClone } from '../version.ts';
import type { RunFlags } from './create-be-worker.ts';
import { askText, cancelOnCtrlC, clack, interactive, progress, reportError } from './ui.ts';

export async function run(
  directoryArgument: string | undefined,
  flags: RunFlags,
  answers: Partial<Record<keyof Spec, string | string[]>>,
): Promise<void> {
  const signal = cancelOnCtrlC();
  if (interactive) (await clack()).intro(kleur.bold(`create-be-worker ${CLI_VERSION}`));

  // What can be refused from the flags alone is refused before anything is asked.
  let force = Boolean(flags.force);
  let directory = directoryArgument;
  if (directory && !flags.dryRun) ({ directory, force } = await target(directory, force));
  const packageManager = answers.packageManager;
  if (flags.install && !flags.dryRun && PACKAGE_MANAGERS.includes(packageManager as PackageManager)) {
    await requirePackageManager(packageManager as PackageManager);
  }

  const spec = await collectSpec({
    directory,
    yes: Boolean(flags.yes),
    flags: answers,
    ...(interactive ? { ask } : {}),
  });
  // A worker made from a registry that is not the public one installs from it too (its .npmrc).
  const registry = registryToRemember();
  if (registry) spec.registry = registry;
  if (!directory) {
    directory = spec.name;
    if (interactive && !flags.dryRun) ({ directory, force } = await target(directory, force));
  }
  const provisioning = flags.provision && !flags.dryRun;
  if (provisioning && spec.env !== 'local' && !flags.yes && !interactive) {
    throw new UserError(
      `--provision would create queues in env "${spec.env}"; pass --yes to do it without a terminal, or leave out --provision and run ${beWorkerCommand('provision', spec.packageManager)} later. Nothing was written.`,
    );
  }

  const result = await createWorker(spec, {
    directory,
    force,
    dryRun: flags.dryRun,
    install: flags.install,
    git: flags.git,
    signal,
    progress: await progress(),
  });
  if (!provisioning) return await printSummary(result, Boolean(flags.dryRun));

  const later = `cd ${shown(result.directory)} && ${beWorkerCommand('provision', result.spec.packageManager)}${flags.profile ? ` --profile ${flags.profile}` : ''}${flags.endpoint ? ` --endpoint ${flags.endpoint}` : ''}`;
  try {
    const { name: worker, queues, env, user, region } = result.spec;
    // The AWS SDK loads only for --provision.
    const [{ provisionAndReport }, { defaultEndpoint }] = await Promise.all([
      import('./provision-output.ts'),
      import('../aws.ts'),
    ]);
    // As be-worker's commands: env local is the local SQS of npm run dev, never AWS.
    const endpoint = defaultEndpoint(env, flags.endpoint);
    const doing = `Provisioning the SQS queues of env "${env}"${endpoint ? ` at ${endpoint}` : ''}`;
    if (interactive) (await clack()).log.step(doing);
    else console.log(`… ${doing}`);
    await provisionAndReport(
      { worker, queues, env, user, region, profile: flags.profile, endpoint, signal },
      { yes: flags.yes, again: later },
    );
  } catch (error) {
    // The worker is complete without its queues: say how to go on, then what went wrong.
    await printSummary(result, false, later);
    const kept = `The worker is in ${result.directory}; to provision it later: ${later}`;
    if (error instanceof CancelledError) throw new CancelledError(`${error.message} ${kept}`);
    if (error instanceof EnvironmentError) throw new EnvironmentError(`${error.message}\n${kept}`);
    if (error instanceof UserError) throw new UserError(`${error.message}\n${kept}`);
    throw error;
  }
  await printSummary(result, false);
}

/** Prints a failed run's error and sets its exit code. */
export async function fail(error: unknown): Promise<void> {
  process.exitCode = await reportError(error);
  // Cancelled is over at once: a request still open (an SQS that never answers) must not hold it.
  if (error instanceof CancelledError) process.exit();
}

/**
 * The directory to write into. A non-empty one is refused without a terminal (unless --force);
 * in a terminal the user chooses: write into it (replaced files kept in a backup), another
 * directory, or cancel.
 */
async function target(directory: string, force: boolean): Promise<{ directory: string; force: boolean }> {
  if (!interactive) {
    await checkTarget(directory, { force });
    return { directory, force };
  }
  const { isCancel, select, text } = await clack();
  for (;;) {
    const state = await targetState(resolve(directory));
    if (state === 'missing' || state === 'empty' || (state === 'non-empty' && force)) return { directory, force };
    const choice = await select({
      message: `${directory} is ${state === 'file' ? 'a file' : 'not empty'}`,
      options: [
        ...(state === 'non-empty'
          ? [
              {
                value: 'into',
                label: 'Write into it',
                hint: `files it replaces are kept in ${basename(directory)}.backup-<date>-<time>`,
              },
            ]
          : []),
        { value: 'other', label: 'Choose another directory' },
        { value: 'cancel', label: 'Cancel' },
      ],
    });
    if (isCancel(choice) || choice === 'cancel') throw new CancelledError();
    if (choice === 'into') return { directory, force: true };
    const other = await text({
      message: 'Directory',
      placeholder: `${directory}-2`,
      defaultValue: `${directory}-2`,
    });
    if (isCancel(other)) throw new CancelledError();
    directory = other;
  }
}

const ask: Ask = async (option, initial, validate) => {
  const prompt = option.prompt;
  if (!prompt) return initial;
  const prompts = await clack();
  if (prompt.choices) {
    let chosen = initial && initial !== 'none' ? initial.split(',') : [];
    // clack's multiselect cannot validate: a refused choice is said and asked again.
    for (;;) {
      const answer = await prompts.multiselect({
        message: prompt.message,
        options: prompt.choices.map(({ value, hint }) => ({ value, label: value, hint })),
        initialValues: chosen,
        required: false,
      });
      if (prompts.isCancel(answer)) return null;
      chosen = answer;
      const problem = validate(chosen.join(',') || 'none');
      if (problem === undefined) return chosen.join(',') || 'none';
      prompts.log.error(problem);
    }
  }
  return askText({
    message: prompt.message,
    placeholder: prompt.placeholder,
    initial: initial || undefined,
    prefill: prompt.prefill,
    validate,
  });
};

/** A path as the user would type it from here. */
function shown(directory: string): string {
  return relative(process.cwd(), directory) || '.';
}

/** The next steps and the onboarding message, as plain lines: both are meant to be copied. */
async function printSummary(result: CreateResult, dryRun: boolean, provisionLater?: string): Promise<void> {
  if (runsFromClone() && !dryRun) {
    console.log(
      kleur.yellow(
        `This create-be-worker runs from a clone: the worker carries it, packed, in ${vendoredCliPath()} ("create-be-worker": "${cliDependency()}"), so its CI and Docker build install it too. Once create-be-worker is published, ${beWorkerCommand('upgrade --to <version>', result.spec.packageManager)} moves the worker to it.`,
      ),
    );
  }
  if (dryRun) {
    console.log(`Would write ${result.tree.size} files to ${result.directory}:\n${describeTree(result.tree)}`);
    console.log('Dry run: nothing was written.');
    return;
  }
  const run = commandsFor(result.spec.packageManager).run;
  if (result.backup) console.log(kleur.yellow(`Replaced files were kept in ${result.backup}`));
  const first = result.spec.queues[0];
  const steps: [string, string?][] = [
    [`cd ${shown(result.directory)}`],
    ...(result.installed ? [] : [[`${result.spec.packageManager} install`] as [string]]),
    ...(provisionLater
      ? [
          [beWorkerCommand('provision', result.spec.packageManager), 'create the SQS queues (see below)'] as [
            string,
            string,
          ],
        ]
      : []),
    [`${run} dev`, 'local SQS + the worker, restarted on change'],
    [
      `${run} send -- ${first?.task} ${taskTemplate(first?.task ?? '').example.join(' ')}`,
      'in another terminal: send a task',
    ],
    [`${run} test`],
  ];
  const width = Math.max(...steps.map(([command]) => command.length));
  const lines = steps.map(([command, why]) => (why ? `${command.padEnd(width)}   # ${why}` : command));
  const next = `Next steps:\n${lines.map((line) => `  ${line}`).join('\n')}`;
  const onboarding = `To get it linked to GitLab, post in ${ONBOARDING_CHANNEL} (again any time: ${beWorkerCommand('onboarding', result.spec.packageManager)}):\n\n${onboardingMessage(result.spec)}`;
  if (interactive) (await clack()).outro(`Created ${result.spec.name} in ${shown(result.directory)}`);
  console.log(`\n${onboarding}\n\n${next}`);
}

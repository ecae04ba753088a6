// One run of `create-be-worker`, once its flags are read: prompts, the worker written, the
// summary. With create-be-worker.ts, the only place that decides what is printed.
import { relative } from 'node:path';
import * as clack from '@clack/prompts';
import kleur from 'kleur';
import { type Ask, collectSpec } from '../collect.ts';
import { type CreateResult, createWorker } from '../create.ts';
import { ONBOARDING_CHANNEL, onboardingMessage } from '../onboarding.ts';
import { commandsFor } from '../package-manager.ts';
import { taskTemplate } from '../render.ts';
import type { Spec } from '../spec.ts';
import { checkTarget, describeTree } from '../tree.ts';
import { CLI_VERSION, cliDependency, runsFromClone } from '../version.ts';
import type { RunFlags } from './create-be-worker.ts';
import { interactive, progress } from './ui.ts';

export async function run(
  directoryArgument: string | undefined,
  flags: RunFlags,
  answers: Partial<Record<keyof Spec, string | string[]>>,
): Promise<void> {
  // Ctrl-C outside a prompt: stop at the next step and clean up; a second one exits at once.
  const aborted = new AbortController();
  process.on('SIGINT', () => (aborted.signal.aborted ? process.exit(130) : aborted.abort()));
  if (interactive) clack.intro(kleur.bold(`create-be-worker ${CLI_VERSION}`));

  // Refuse a non-empty target before asking anything.
  if (directoryArgument && !flags.dryRun) await checkTarget(directoryArgument, flags);

  const spec = await collectSpec({
    directory: directoryArgument,
    yes: Boolean(flags.yes),
    flags: answers,
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
    // The AWS SDK loads only for --provision.
    const { provisionAndReport } = await import('./provision-output.ts');
    await provisionAndReport(
      { worker, queues, env, user, region, profile: flags.profile, endpoint: flags.endpoint },
      { yes: flags.yes },
    );
  }
  printSummary(result, Boolean(flags.dryRun));
}

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
  if (runsFromClone()) {
    console.log(
      kleur.yellow(
        `This create-be-worker runs from a clone, so the worker pins it as "create-be-worker": "${cliDependency(result.spec.packageManager)}" in devDependencies (npx be-worker runs that clone). The worker's CI and Docker build cannot reach that folder: pin a published version before you push.`,
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
  const onboarding = `To get it linked to GitLab, post in ${ONBOARDING_CHANNEL} (again any time: npx be-worker onboarding):\n\n${onboardingMessage(result.spec)}`;
  if (interactive) {
    clack.note(onboarding, 'Onboarding');
    clack.outro(message);
  } else console.log(`\n${onboarding}\n\n${message}`);
}

// `be-worker add-integration`: the plan, the apply, the install, and what is left to do.
import kleur from 'kleur';
import { planAddIntegration } from '../add-integration.ts';
import { applyChanges } from '../changes.ts';
import { beWorkerCommand, commandsFor } from '../package-manager.ts';
import { findWorkerRepo } from '../repo.ts';
import { checkCleanTree } from '../upgrade/index.ts';
import { conflictList, install, showPlan } from './upgrade.ts';

export interface AddIntegrationFlags {
  base?: string;
  dryRun?: boolean;
  allowDirty?: boolean;
  install: boolean;
}

/** Runs it; returns the exit code: 0 clean, 1 conflicts left in the files (errors are thrown). */
export async function runAddIntegration(names: string[], flags: AddIntegrationFlags, signal?: AbortSignal) {
  const repo = await findWorkerRepo(process.cwd());
  const plan = await planAddIntegration(repo, names, {
    base: flags.base,
    signal,
    onStep: (message) => console.log(`… ${message}`),
  });
  // Checked after the names: a typo is said first, whatever the tree.
  if (!flags.dryRun && !flags.allowDirty) await checkCleanTree(repo.root, 'add-integration');
  const added = plan.added.join(', ');
  console.log(`Adding ${added} to ${repo.answers.answers.name} (rendered by create-be-worker ${plan.version})`);
  if (showPlan(plan, flags.dryRun)) return 0;
  await applyChanges(repo.root, plan.changes, signal);
  console.log(`✔ ${plan.changes.size} file(s) changed`);
  const spec = repo.answers.answers;
  if (flags.install) await install(repo.root, spec.packageManager, signal);
  const run = commandsFor(spec.packageManager).run;
  const commit = `git add -A && git commit -m "Add ${added}"`;
  const next = [
    `Set its variables (.env.example lists them; README.md says what each does), then check and commit:`,
    `  ${run} typecheck && ${run} test && ${commit}`,
    ...((plan.added as readonly string[]).includes('large-payloads')
      ? [`Its bucket: ${beWorkerCommand('provision')} creates it, ${beWorkerCommand('iam-policy')} grants it.`]
      : []),
  ];
  if (plan.conflicts.length > 0) {
    console.log(`\n${conflictList(plan.conflicts)}\nResolve them (search for <<<<<<<) first.\n${next.join('\n')}`);
    return 1;
  }
  console.log(`\n${kleur.green('✔')} Added ${added}. ${next.join('\n')}`);
  return 0;
}

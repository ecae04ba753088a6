// `be-worker upgrade`: the plan, the confirmation, the apply, the install, and what changed.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as clack from '@clack/prompts';
import kleur from 'kleur';
import { applyChanges, type ChangeSet, diffOf } from '../changes.ts';
import { CancelledError, UserError } from '../errors.ts';
import { beWorkerCommand, commandsFor, type PackageManager } from '../package-manager.ts';
import { findWorkerRepo } from '../repo.ts';
import { checkCleanTree, planUpgrade } from '../upgrade/index.ts';
import { PACKAGE } from '../upgrade/packages.ts';
import type { Conflict, FilesPlan } from '../upgrade/plan.ts';
import { upgradeSummary } from '../upgrade/summary.ts';
import { interactive, progress } from './ui.ts';

export interface UpgradeFlags {
  to?: string;
  base?: string;
  dryRun?: boolean;
  yes?: boolean;
  allowDirty?: boolean;
  install: boolean;
  /** A file to write the upgrade's Markdown summary to, for a merge request (not written when nothing changes). */
  summary?: string;
}

/** Runs the upgrade; returns the exit code: 0 clean, 1 conflicts left (errors are thrown). */
export async function runUpgrade(flags: UpgradeFlags): Promise<number> {
  const repo = await findWorkerRepo(process.cwd());
  if (!flags.dryRun && !flags.allowDirty) await checkCleanTree(repo.root);
  const plan = await planUpgrade(repo, {
    to: flags.to,
    base: flags.base,
    onStep: (message) => console.log(`… ${message}`),
  });
  const name = repo.answers.answers.name;
  if (plan.upToDate) {
    if (plan.sources) {
      console.log(
        `${PACKAGE} ${plan.version} from ${plan.sources.base} and from ${plan.sources.theirs} render the same files for ${name}: nothing to do.`,
      );
    } else {
      console.log(`${name} is at ${PACKAGE} ${plan.version} already: nothing to do.`);
    }
    if (plan.because === 'same version') {
      console.log(
        `(Its be-worker.json records no templates, as workers made before they were recorded do: if another build of ${plan.version}, a clone say, made it, --base <that package or built clone> compares what each renders.)`,
      );
    }
    if (flags.to === undefined) console.log(`For the latest release: ${beWorkerCommand('upgrade --to latest')}`);
    return 0;
  }

  console.log(
    plan.from === plan.to
      ? `Upgrading ${name} from one build of ${PACKAGE} ${plan.from} to another`
      : `Upgrading ${name} from ${PACKAGE} ${plan.from} to ${plan.to}`,
  );
  console.log(`  base: ${PACKAGE} ${plan.from} from ${plan.sources.base}`);
  console.log(`  new:  ${PACKAGE} ${plan.to} from ${plan.sources.theirs}`);
  if (showPlan(plan, flags.dryRun)) return 0;
  if (!flags.yes) {
    if (!interactive) throw new UserError('pass --yes to upgrade without a terminal (--dry-run shows the changes)');
    const answer = await clack.confirm({ message: `Apply ${plan.changes.size} change(s)?`, initialValue: true });
    if (answer !== true) throw new CancelledError('Cancelled; nothing was changed.');
  }
  await applyChanges(repo.root, plan.changes);
  console.log(`✔ ${plan.changes.size} file(s) changed`);
  if (flags.summary !== undefined) {
    await writeFile(resolve(flags.summary), upgradeSummary(name, plan));
    console.log(`✔ Summary written to ${flags.summary}`);
  }

  const spec = repo.answers.answers;
  if (flags.install) await install(repo.root, spec.packageManager);
  if (plan.changelog) console.log(`\n${kleur.bold('What changed for workers:')}\n${plan.changelog}`);

  const commit = `git add -A && git commit -m "Upgrade to ${PACKAGE} ${plan.to}"`;
  if (plan.conflicts.length > 0) {
    const run = commandsFor(spec.packageManager).run;
    console.log(
      `\n${conflictList(plan.conflicts)}\nResolve them (search for <<<<<<<), then check and commit:\n  ${run} typecheck && ${run} test && ${commit}`,
    );
    return 1;
  }
  console.log(
    `\n${kleur.green('✔')} Upgraded to ${PACKAGE} ${plan.to}. Review it (git diff), then commit:\n  ${commit}`,
  );
  return 0;
}

/** What a three-way plan (upgrade, add-integration) changes and keeps; with `dryRun` its diff too. True for a dry run. */
export function showPlan(plan: Omit<FilesPlan, 'changes'> & { changes: ChangeSet }, dryRun?: boolean) {
  for (const [path, action] of plan.actions) console.log(`  ${action.padEnd(8)} ${path}`);
  if (plan.notes.length > 0)
    console.log(['Kept as you have them:', ...plan.notes.map((note) => `  ${note}`)].join('\n'));
  if (!dryRun) return false;
  process.stdout.write(diffOf(plan.changes));
  if (plan.conflicts.length > 0) console.log(conflictList(plan.conflicts));
  console.log('Dry run: nothing was changed.');
  return true;
}

/** The dependency install after a three-way apply, with its spinner. */
export async function install(root: string, packageManager: PackageManager, signal?: AbortSignal) {
  const { installDependencies } = await import('../post-steps.ts');
  const spinner = await progress();
  spinner.start(`Installing dependencies with ${packageManager}`);
  await installDependencies(root, packageManager, signal);
  spinner.stop('Dependencies installed');
}

export function conflictList(conflicts: Conflict[]): string {
  const lines = conflicts.flatMap(({ path, hunks, keys }) =>
    keys ? keys.map((key) => `  ${path}: ${key}`) : [`  ${path} (${hunks} conflict${hunks === 1 ? '' : 's'} marked)`],
  );
  return [kleur.yellow(`Conflicts in ${conflicts.length} file(s):`), ...lines].join('\n');
}

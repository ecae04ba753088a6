// The `be-worker` bin: commands run inside a generated worker.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { execa } from 'execa';
import kleur from 'kleur';
import { deadLetterQueueName, fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import type { QueueBinding } from '../../templates/worker/src/runtime/queues.ts';
import { sleep } from '../../templates/worker/src/runtime/timing.ts';
import { planAddQueue } from '../add-queue.ts';
import { defaultEndpoint } from '../aws.ts';
import { applyChanges, diffOf } from '../changes.ts';
import { listDeadLetters, peekDeadLetters, purgeDeadLetters, redriveDeadLetters } from '../dlq/index.ts';
import { CancelledError, EnvironmentError, UserError } from '../errors.ts';
import { callerAccount, checkedEnv, iamPolicies } from '../iam-policy.ts';
import { INTEGRATION_NAMES } from '../integrations/index.ts';
import { onboardingMessage } from '../onboarding.ts';
import { beWorkerCommand } from '../package-manager.ts';
import { payloadBucketOf } from '../payload-bucket.ts';
import { provision, writes } from '../provision.ts';
import { findWorkerRepo, type WorkerRepo } from '../repo.ts';
import { planAddSchedule, planRemoveSchedule } from '../schedules/edit.ts';
import { loadSchedules } from '../schedules/load.ts';
import { QUEUES_FILE, readQueues } from '../source/queues-file.ts';
import { readRoutesFile } from '../source/routes-file.ts';
import { type StatusOptions, status } from '../status.ts';
import { isLoopback } from '../ui/guard.ts';
import { startUiServer } from '../ui/server.ts';
import { CLI_VERSION } from '../version.ts';
import { workerQueues } from '../worker-queues.ts';
import { completeAddQueue, QUEUE_DESCRIPTION } from './add-queue-prompts.ts';
import {
  formatList,
  formatPeek,
  formatPurgedObjects,
  formatRedrive,
  formatStatus,
  heading,
  progressBar,
} from './dlq-output.ts';
import { formatPolicies } from './iam-policy-output.ts';
import { openInBrowser } from './open-browser.ts';
import { accountOf, confirmFor, isShared, provisionAndReport } from './provision-output.ts';
import { formatSchedules, formatStrays, listSchedules, scheduleStatuses } from './schedule-output.ts';
import {
  type AddScheduleFlags,
  completeAddSchedule,
  EXPRESSION_DESCRIPTION,
  NAME_DESCRIPTION as SCHEDULE_NAME_DESCRIPTION,
} from './schedule-prompts.ts';
import { cancelOnCtrlC, confirmOrRefuse, interactive, reportError } from './ui.ts';

const program = new Command('be-worker')
  .description('Work on a worker made by create-be-worker')
  .version(CLI_VERSION, '-v, --version');

interface AwsFlags {
  env?: string;
  user?: string;
  region?: string;
  profile?: string;
  endpoint?: string;
  yes?: boolean;
  maxReceiveCount?: number;
  visibilityTimeout?: number;
}

/** Where the queues are: the flags of every command that talks to SQS. */
function targetOptions(command: Command): Command {
  return command
    .option('--env <env>', 'environment of the queue names (default: the one the worker was created with)')
    .option('--user <user>', 'the <user> of local queue names (default: the one the worker was created with)')
    .option('--region <region>', 'AWS region (default: the one the worker was created with)')
    .option('--profile <profile>', 'AWS profile to act as (default: the default credential chain)')
    .option('--endpoint <url>', 'a local SQS instead of AWS, e.g. http://localhost:4566');
}

/** The AWS flags add-queue --provision and provision share. */
function awsOptions(command: Command): Command {
  return targetOptions(command)
    .option('--max-receive-count <n>', 'receives before SQS moves a message to the DLQ', positiveInteger, 5)
    .option('--visibility-timeout <seconds>', 'visibility timeout of the queues', positiveInteger, 30)
    .option('-y, --yes', 'do not ask before changing queues of a non-local env');
}

function provisionOptions(
  repo: WorkerRepo,
  queues: readonly QueueBinding[],
  flags: AwsFlags & { dryRun?: boolean; fix?: boolean },
) {
  const spec = repo.answers.answers;
  const env = flags.env ?? spec.env;
  return {
    worker: spec.name,
    queues,
    env,
    user: flags.user ?? spec.user,
    region: flags.region ?? spec.region,
    profile: flags.profile,
    // As status and dlq: env local is the local SQS of npm run dev, never AWS.
    endpoint: defaultEndpoint(env, flags.endpoint),
    dryRun: flags.dryRun,
    fix: flags.fix,
    maxReceiveCount: flags.maxReceiveCount,
    visibilityTimeoutSeconds: flags.visibilityTimeout,
  };
}

/** Whether the worker has the large-payloads integration, whose bucket provision and iam-policy take care of. */
function hasLargePayloads(repo: WorkerRepo): boolean {
  return (repo.answers.answers.integrations as readonly string[]).includes('large-payloads');
}

interface PayloadFlags {
  bucket?: string;
  payloadPrefix?: string;
}

/** The flags that say where the large-payloads integration's objects are. */
function payloadOptions(command: Command): Command {
  return command
    .option(
      '--bucket <name>',
      "with large-payloads: the bucket, as the worker's LARGE_PAYLOAD_BUCKET says (default: <env>-<worker>-large-payloads-<account>; env local: <worker>-large-payloads)",
    )
    .option(
      '--payload-prefix <prefix>',
      "with large-payloads: the objects' key prefix, as LARGE_PAYLOAD_PREFIX says (default: none)",
    );
}

awsOptions(
  payloadOptions(program.command('provision'))
    .description(
      "create this worker's SQS queues and their err- dead-letter queues, its schedules in EventBridge Scheduler and (large-payloads) its S3 bucket, or check them",
    )
    .option('--dry-run', 'print the plan (create / exists / drift per queue and schedule); change nothing')
    .option('--fix', 'apply the planned attributes to queues and schedules that drifted')
    .option('--prune', 'delete the schedules of the worker’s group that src/config/schedules.ts no longer has')
    .option(
      '--scheduler-role-arn <arn>',
      'the IAM role EventBridge sends the schedules’ messages as, where a platform team owns IAM (default: one provision creates and keeps in step)',
    )
    .option('--json', 'print the result as JSON'),
).action(
  async (
    flags: AwsFlags &
      PayloadFlags & { dryRun?: boolean; fix?: boolean; prune?: boolean; schedulerRoleArn?: string; json?: boolean },
  ) => {
    const signal = cancelOnCtrlC();
    const repo = await findWorkerRepo(process.cwd());
    const queues = readQueues(await readFile(join(repo.root, QUEUES_FILE), 'utf8'));
    // Loaded (and refused, in one sentence) before anything is asked of AWS.
    const schedules = await loadSchedules(repo.root, { signal });
    await provisionAndReport(
      {
        ...provisionOptions(repo, queues, flags),
        schedules,
        prune: flags.prune,
        schedulerRoleArn: flags.schedulerRoleArn,
        ...(hasLargePayloads(repo) ? { payloads: { bucket: flags.bucket, prefix: flags.payloadPrefix ?? '' } } : {}),
        signal,
      },
      flags,
    );
  },
);

awsOptions(
  program
    .command('add-queue')
    .description('add a queue and a task to fill in: queues.ts, src/tasks/, its test, be-worker.json')
    .argument('[queue]', `${QUEUE_DESCRIPTION} (asked in a terminal when left out)`)
    .option('--task <name>', "the Celery task it runs (default: the queue's last word)")
    .option('--ratelimit <name>', 'the ratelimit it is held to (needs the ratelimit integration)')
    .option('--provision', 'create the new queue and its DLQ right away')
    .option('--dry-run', 'print the diff; change nothing'),
).action(
  async (
    queueName: string | undefined,
    flags: AwsFlags & { task?: string; ratelimit?: string; provision?: boolean; dryRun?: boolean },
  ) => {
    const signal = cancelOnCtrlC();
    const repo = await findWorkerRepo(process.cwd());
    const input = await completeAddQueue(repo, { queue: queueName, task: flags.task, ratelimit: flags.ratelimit });
    const { queue, changes, notes } = await planAddQueue(repo, input);
    for (const note of notes) console.log(kleur.yellow(note));
    if (flags.dryRun) {
      process.stdout.write(diffOf(changes));
      console.log('Dry run: nothing was changed.');
      return;
    }
    const provisioning = flags.provision ? { ...provisionOptions(repo, [queue], flags), signal } : undefined;
    // Everything that can stop the provisioning is settled before a file changes: the shared env's
    // consent, the credentials, the plan. A retry then never meets a half-added queue.
    if (provisioning) {
      const { env } = provisioning;
      if (isShared(env) && !flags.yes && !interactive) {
        throw new UserError(
          `add-queue --provision would create queues in env "${env}"; pass --yes to do it without a terminal, or leave out --provision and run ${beWorkerCommand('provision')} later. Nothing was changed.`,
        );
      }
      const plan = await provision({ ...provisioning, dryRun: true }).catch((error) => {
        throw error instanceof CancelledError ? new CancelledError('Cancelled; nothing was changed.') : error;
      });
      const confirm = flags.yes ? undefined : confirmFor(provisioning);
      if (confirm && writes(plan) > 0 && !(await confirm({ ...plan, dryRun: false }))) {
        throw new CancelledError('Nothing was changed.');
      }
    }
    await applyChanges(repo.root, changes, signal);
    for (const [path, { before }] of changes) console.log(`${before === undefined ? 'created' : 'updated'} ${path}`);
    if (provisioning) {
      await provisionAndReport(provisioning, { yes: true, again: beWorkerCommand('provision') }).catch((error) => {
        // The files are in; running add-queue again would be refused as a duplicate.
        const added = `The queue is added to the worker's files; to create it in SQS, run ${beWorkerCommand('provision')}.`;
        if (error instanceof CancelledError) throw new CancelledError(`Cancelled during provisioning. ${added}`);
        if (error instanceof EnvironmentError) throw new EnvironmentError(`${error.message}\n${added}`);
        throw error;
      });
    }
    console.log(
      [
        '',
        kleur.bold('Next steps:'),
        `  1. Fill in src/tasks/${queue.task}.ts (its argument schema and body) and test/tasks/${queue.task}.test.ts`,
        '  2. npm test',
        flags.provision ? '  3. Deploy' : `  3. ${beWorkerCommand('provision')}  (creates the queue and its DLQ)`,
      ].join('\n'),
    );
  },
);

program
  .command('add-integration')
  .description(
    'add integrations to this worker, three-way as upgrade does (your edits are kept): its files, package.json, be-worker.json, then npm install',
  )
  .argument('<names...>', `the integrations: ${INTEGRATION_NAMES.join(', ')}`)
  .option('--dry-run', 'print the diff and the conflicts; change nothing')
  .option('--allow-dirty', 'go on with changes not committed')
  .option('--no-install', 'skip the dependency install')
  .option('--base <tarball|dir>', 'the package of the version the worker was made with, when offline')
  .action(async (names: string[], flags: import('./add-integration.ts').AddIntegrationFlags) => {
    // Loaded when used, as upgrade: the merge and the package loading.
    const { runAddIntegration } = await import('./add-integration.ts');
    process.exitCode = await runAddIntegration(names, flags, cancelOnCtrlC());
  });

program
  .command('info')
  .description("show this worker's queues and their SQS names in an environment")
  .option('--env <env>', 'environment for the SQS names (default: the one it was created with)')
  .option('--user <user>', 'the <user> of local names (default: the one it was created with)')
  .action(async (flags: { env?: string; user?: string }) => {
    const { root, answers } = await findWorkerRepo(process.cwd());
    const spec = answers.answers;
    const naming = { env: flags.env ?? spec.env, user: flags.user ?? spec.user };
    console.log(`${spec.name} at ${root}`);
    console.log(`created with create-be-worker ${answers.cliVersion}, template ${answers.templateVersion}`);
    console.log(`queues in env "${naming.env}":`);
    for (const { queue, task, ratelimit } of readQueues(await readFile(join(root, QUEUES_FILE), 'utf8'))) {
      const full = fullQueueName(queue, naming);
      console.log(
        `  ${queue} → ${full} (DLQ ${deadLetterQueueName(full)}), task ${task}${ratelimit ? `, ratelimit ${ratelimit}` : ''}`,
      );
    }
  });

payloadOptions(program.command('iam-policy'))
  .description(
    "the least-privilege IAM policies of the worker's role and KEDA's, for its queues in an AWS env (and, with schedules, what provisioning them needs)",
  )
  .option('--env <env>', 'an AWS environment of the queue names (default: the one the worker was created with)')
  .option('--region <region>', 'AWS region of the queues (default: the one the worker was created with)')
  .option('--account <id>', "the queues' 12-digit AWS account (default: the credentials' account, asked of STS)")
  .option('--profile <profile>', 'AWS profile to ask STS for the account with (default: the default credential chain)')
  .option(
    '--scheduler-role-arn <arn>',
    'the role the schedules are sent as, when provision is given one: passed, not made (default: the one provision makes)',
  )
  .option(
    '--json',
    'print only the policy documents, as JSON: { "worker": {…}, "keda": {…} }, and "schedules" when it has schedules',
  )
  .action(
    async (
      flags: {
        env?: string;
        region?: string;
        account?: string;
        profile?: string;
        schedulerRoleArn?: string;
        json?: boolean;
      } & PayloadFlags,
    ) => {
      const repo = await findWorkerRepo(process.cwd());
      const spec = repo.answers.answers;
      // Env first: a wrong one is said before credentials are looked for.
      const env = checkedEnv(flags.env ?? spec.env);
      const region = flags.region ?? spec.region;
      const queues = readQueues(await readFile(join(repo.root, QUEUES_FILE), 'utf8'));
      const routes = await readRoutesFile(repo.root);
      const signal = cancelOnCtrlC();
      const schedules = await loadSchedules(repo.root, { signal });
      const account = flags.account ?? (await callerAccount({ region, profile: flags.profile, signal }));
      const scheduling = schedules.length ? { worker: spec.name, roleArn: flags.schedulerRoleArn } : undefined;
      const payloads = hasLargePayloads(repo)
        ? payloadBucketOf(
            { bucket: flags.bucket, prefix: flags.payloadPrefix ?? '' },
            { worker: spec.name, env, account },
          )
        : undefined;
      const policies = iamPolicies({ env, region, account, queues, routes, scheduling, payloads });
      console.log(
        flags.json
          ? JSON.stringify(policies, null, 2)
          : formatPolicies(policies, { worker: spec.name, env, account, region }),
      );
    },
  );

program
  .command('onboarding')
  .description('print the message that asks for GitLab, Sentry and ratelimit set-up (docs/onboarding.md)')
  .option('--repo <url>', "the repository's link (default: the git remote origin)")
  .action(async (flags: { repo?: string }) => {
    const { root, answers } = await findWorkerRepo(process.cwd());
    const origin = await execa('git', ['remote', 'get-url', 'origin'], { cwd: root, reject: false, stdin: 'ignore' });
    const repository = flags.repo ?? (origin.exitCode === 0 ? origin.stdout.trim() : undefined);
    console.log(onboardingMessage(answers.answers, repository));
  });

program
  .command('upgrade')
  .description("bring the worker to this be-worker's version (or --to), three-way: your edits are kept")
  .option('--to <version>', 'the version to upgrade to, e.g. 0.4.0 or latest (default: this be-worker)')
  .option('--base <tarball|dir>', 'the package of the version the worker was made with, when offline')
  .option('--dry-run', 'print the diff and the conflicts; change nothing')
  .option('-y, --yes', 'apply without asking')
  .option('--allow-dirty', 'upgrade even with changes not committed')
  .option('--no-install', 'skip the dependency install after the upgrade')
  .option(
    '--summary <file>',
    "write what changed, the conflicts and the CHANGELOG's worker sections crossed, in Markdown (a merge request's description)",
  )
  .action(async (flags: import('./upgrade.ts').UpgradeFlags) => {
    // Loaded when used: the merge and the package loading are not needed by the other commands.
    const { runUpgrade } = await import('./upgrade.ts');
    process.exitCode = await runUpgrade(flags);
  });

/** The worker's queues in the env of the flags, and where SQS is. */
async function queuesTarget(flags: AwsFlags, signal?: AbortSignal) {
  const repo = await findWorkerRepo(process.cwd());
  const spec = repo.answers.answers;
  const env = flags.env ?? spec.env;
  const bindings = readQueues(await readFile(join(repo.root, QUEUES_FILE), 'utf8'));
  return {
    largePayloads: hasLargePayloads(repo),
    env,
    region: flags.region ?? spec.region,
    profile: flags.profile,
    endpoint: defaultEndpoint(env, flags.endpoint),
    queues: workerQueues(bindings, { env, user: flags.user ?? spec.user }),
    signal,
  };
}

targetOptions(
  payloadOptions(program.command('status'))
    .description('messages visible, in flight and delayed in each queue of the worker and its DLQ')
    .option('--json', 'print the counts as JSON')
    .option('--watch', 'redraw the counts in place every --interval seconds (in a terminal), until Ctrl-C')
    .option('--interval <seconds>', 'seconds between two reads with --watch', positiveInteger, 5),
).action(async (flags: AwsFlags & PayloadFlags & { json?: boolean; watch?: boolean; interval: number }) => {
  if (flags.watch && (flags.json || !interactive)) {
    throw new UserError(
      flags.json
        ? '--watch redraws a table; leave out --json, or run status --json on a schedule.'
        : '--watch redraws in place in a terminal, and this output is not one; run status without --watch (--json for scripts).',
    );
  }
  const signal = cancelOnCtrlC();
  const { largePayloads, ...queues } = await queuesTarget(flags, signal);
  const worker = (await findWorkerRepo(process.cwd())).answers.answers.name;
  const target: StatusOptions = largePayloads
    ? { ...queues, payloads: { worker, bucket: flags.bucket, prefix: flags.payloadPrefix ?? '' } }
    : queues;
  if (!flags.watch) {
    const report = await status(target);
    console.log(flags.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    return;
  }
  let lines = 0;
  while (!signal.aborted) {
    const report = await status(target).catch((error: unknown) => {
      if (error instanceof CancelledError) return undefined;
      throw error;
    });
    if (!report) break;
    const text = `${formatStatus(report)}\n${kleur.dim(`${new Date().toLocaleTimeString()}, every ${flags.interval} s; Ctrl-C to stop`)}`;
    // Back to the first line of the last drawing, and clear from there.
    process.stdout.write(`${lines ? `\x1b[${lines}F\x1b[0J` : ''}${text}\n`);
    lines = text.split('\n').length;
    await sleep(flags.interval * 1000, signal);
  }
  // Ended by Ctrl-C: 130, as every Ctrl-C of the bins (npx reports 130 for it whatever we say).
  process.exitCode = 130;
});

const dlq = program.command('dlq').description("read, redrive and purge the worker's dead letters (err- queues)");
const QUEUE_ARGUMENT = 'the queue as in src/config/queues.ts (its full SQS name or its err- name do too)';

targetOptions(
  dlq
    .command('ls')
    .description('per dead-letter queue: its count, and its messages by reason (error_type) and task')
    .argument('[queue]', `${QUEUE_ARGUMENT}; default: every queue of the worker`)
    .option('--max <n>', 'read at most this many messages per queue to group them', positiveInteger, 1000)
    .option('--json', 'print the result as JSON'),
).action(async (queue: string | undefined, flags: AwsFlags & { max: number; json?: boolean }) => {
  const report = await listDeadLetters({ ...(await queuesTarget(flags, cancelOnCtrlC())), queue, max: flags.max });
  console.log(flags.json ? JSON.stringify(report, null, 2) : formatList(report));
});

targetOptions(
  dlq
    .command('peek')
    .description('the first dead letters decoded (task, id, args, retries, reason); left in place')
    .argument('<queue>', QUEUE_ARGUMENT)
    .option('-n, --count <n>', 'how many', positiveInteger, 10)
    .option('--json', 'print the messages as JSON'),
).action(async (queue: string, flags: AwsFlags & { count: number; json?: boolean }) => {
  const report = await peekDeadLetters({ ...(await queuesTarget(flags, cancelOnCtrlC())), queue, count: flags.count });
  console.log(flags.json ? JSON.stringify(report, null, 2) : formatPeek(report));
});

targetOptions(
  dlq
    .command('redrive')
    .description('move the dead letters back to their queue, to run again from their first try')
    .argument('<queue>', QUEUE_ARGUMENT)
    .option('--task <name>', 'move only the messages of this task; the others stay')
    .option('--rate <n>', 'at most this many messages a second', positiveInteger)
    .option('--dry-run', 'say what would move; change nothing')
    .option('--json', 'print the result as JSON')
    .option('-y, --yes', 'do not ask before moving messages of a non-local env'),
).action(
  async (queue: string, flags: AwsFlags & { task?: string; rate?: number; dryRun?: boolean; json?: boolean }) => {
    const target = await queuesTarget(flags, cancelOnCtrlC());
    const bar = progressBar();
    const report = await redriveDeadLetters({
      ...target,
      queue,
      task: flags.task,
      rate: flags.rate,
      dryRun: flags.dryRun,
      async confirm(plan) {
        const what = `${plan.task ? `the messages of task ${plan.task} among ` : ''}the ${plan.messages} message(s) of ${plan.from} to ${plan.to}`;
        if (!flags.json) console.log(heading(plan));
        if (isShared(plan.env) && !flags.yes) {
          await confirmOrRefuse(
            `Move ${what}?`,
            `redrive would move ${what} in env "${plan.env}" of ${accountOf(plan.identity)}`,
          );
        }
      },
      onProgress: (progress) => (flags.json ? undefined : bar.update(progress)),
      onNote: (note) => console.error(kleur.yellow(note)),
    }).finally(() => bar.done());
    console.log(flags.json ? JSON.stringify(report, null, 2) : formatRedrive(report));
  },
);

targetOptions(
  dlq
    .command('purge')
    .description('delete every message of the dead-letter queue, after asking')
    .argument('<queue>', QUEUE_ARGUMENT)
    .option('-y, --yes', 'purge without asking (needed without a terminal)'),
).action(async (queue: string, flags: AwsFlags) => {
  const { largePayloads, ...target } = await queuesTarget(flags, cancelOnCtrlC());
  const plan = await purgeDeadLetters({
    ...target,
    queue,
    payloads: largePayloads,
    async confirm(plan) {
      console.log(heading(plan));
      const what = `the ${plan.messages} message(s) of ${plan.deadLetterQueue} in env "${plan.env}"`;
      if (!flags.yes) await confirmOrRefuse(`Delete ${what} for good?`, `purge would delete ${what}`);
    },
  });
  console.log(`Purged ${plan.deadLetterQueue}: ${plan.messages} message(s) deleted (SQS may take up to a minute).`);
  if (plan.objects) console.log(formatPurgedObjects(plan.objects));
});

targetOptions(
  program
    .command('ui')
    .description(
      "a page in the browser: the queues and their depth, the dead letters (read, redrive, purge), the workers' metrics, the schedules",
    )
    .option('--port <port>', 'the port to listen on (default: any free one)', port, 0)
    .option(
      '--host <address>',
      'the address to listen on; anything but loopback opens it beyond this machine',
      '127.0.0.1',
    )
    .option('--open', 'open the page in the default browser')
    .option('--read-only', 'show the queues and dead letters; refuse to redrive or purge (for a shared env)')
    .option(
      '--metrics <url>',
      "a worker's /metrics to read, repeatable (default in env local: the dev worker's, http://127.0.0.1:8080/metrics)",
      (url: string, urls: string[]) => [...urls, url],
      [] as string[],
    ),
).action(
  async (flags: AwsFlags & { port: number; host: string; open?: boolean; readOnly?: boolean; metrics: string[] }) => {
    const signal = cancelOnCtrlC();
    const repo = await findWorkerRepo(process.cwd());
    const target = await queuesTarget(flags);
    // Loaded once (it runs the worker's own code); the next runs are worked out at each read.
    let loaded: ReturnType<typeof loadSchedules> | undefined;
    const ui = await startUiServer({
      target,
      worker: repo.answers.answers.name,
      host: flags.host,
      port: flags.port,
      readOnly: Boolean(flags.readOnly),
      metricsUrls: flags.metrics.length
        ? flags.metrics
        : target.env === 'local'
          ? ['http://127.0.0.1:8080/metrics']
          : [],
      schedules: async () => {
        loaded ??= loadSchedules(repo.root, {});
        return listSchedules(await loaded, new Date());
      },
      pageDir: fileURLToPath(new URL('./ui/', import.meta.url)),
    }).catch((error: NodeJS.ErrnoException) => {
      throw new EnvironmentError(`Cannot listen on ${flags.host}:${flags.port} (${error.code ?? error.message}).`);
    });
    if (!isLoopback(flags.host)) {
      console.error(
        kleur
          .red()
          .bold(
            `⚠ Listening on ${flags.host}, beyond this machine: whoever reaches it with this URL can ${flags.readOnly ? 'read the dead letters' : 'redrive and purge the dead letters'}${isShared(target.env) ? ` of env "${target.env}"` : ''}. Leave out --host to keep it on this machine.`,
          ),
      );
    }
    console.log(
      `be-worker ui of ${repo.answers.answers.name}, env "${target.env}"${flags.readOnly ? ', read-only' : ''}:\n  ${ui.url}\nThe address holds its key: share it with nobody. Ctrl-C to stop.`,
    );
    if (flags.open) openInBrowser(ui.url);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await ui.close();
    process.exitCode = 130;
  },
);

const schedules = program
  .command('schedule')
  .description("the worker's periodic tasks (src/config/schedules.ts), run by EventBridge Scheduler");

schedules
  .command('add')
  .description('add a schedule to src/config/schedules.ts: a task, its arguments, when it runs')
  .argument('[name]', `${SCHEDULE_NAME_DESCRIPTION} (asked in a terminal when left out)`)
  .option('--task <name>', "the Celery task it runs (one of the worker's tasks)")
  .option('--expression <expression>', EXPRESSION_DESCRIPTION)
  .option('--args <json>', "the task's positional arguments, a JSON array, e.g. '[\"daily\", 3]'")
  .option('--kwargs <json>', 'its keyword arguments, a JSON object, e.g. \'{"dryRun": true}\'')
  .option('--timezone <zone>', 'the IANA time zone its cron expression is read in (default: UTC)')
  .option('--flexible-window <minutes>', 'let EventBridge fire it up to this many minutes late, 1-1440', wholeNumber)
  .option('--start <date>', 'ISO date-time before which it does not run')
  .option('--end <date>', 'ISO date-time after which it does not run')
  .option('--queue <queue>', 'the queue to send to, when the task is bound to several')
  .option('--description <text>', 'what it is for, shown by schedule ls and in EventBridge')
  .option('--dry-run', 'print the diff; change nothing')
  .action(async (name: string | undefined, flags: AddScheduleFlags & { dryRun?: boolean }) => {
    const signal = cancelOnCtrlC();
    const repo = await findWorkerRepo(process.cwd());
    const input = await completeAddSchedule(repo, name, flags);
    const { changes } = await planAddSchedule(repo, input, signal);
    if (flags.dryRun) {
      process.stdout.write(diffOf(changes));
      console.log('Dry run: nothing was changed.');
      return;
    }
    await applyChanges(repo.root, changes, signal);
    for (const path of changes.keys()) console.log(`updated ${path}`);
    console.log(
      [
        '',
        kleur.bold('Next steps:'),
        `  1. ${beWorkerCommand('schedule ls')}  (its next runs; npm run dev fires it locally)`,
        `  2. ${beWorkerCommand('provision --env <env>')}  (creates it in EventBridge Scheduler for that env)`,
      ].join('\n'),
    );
  });

targetOptions(
  schedules
    .command('ls')
    .description(
      'each schedule, what it runs, its next three runs in its time zone; with --env, whether it is provisioned and in step',
    )
    .option(
      '--json',
      'print the schedules as JSON, with their next runs, the message each sends and (--env) their state',
    ),
).action(async (flags: AwsFlags & { json?: boolean }) => {
  const signal = cancelOnCtrlC();
  const repo = await findWorkerRepo(process.cwd());
  const loaded = await loadSchedules(repo.root, { signal });
  let listed = listSchedules(loaded, new Date());
  const notes: string[] = [];
  // Only with --env: EventBridge is asked (provision's plan, which reads and changes nothing).
  if (flags.env) {
    const queues = readQueues(await readFile(join(repo.root, QUEUES_FILE), 'utf8'));
    const options = provisionOptions(repo, queues, flags);
    const report = await provision({ ...options, schedules: loaded, dryRun: true, signal });
    if (report.schedulesSkipped) notes.push(report.schedulesSkipped);
    if (report.schedules) {
      const statuses = scheduleStatuses(options.env, report.schedules);
      listed = listed.map((schedule) => ({ ...schedule, status: statuses.of(schedule.name) }));
      if (statuses.strays.length) notes.push(formatStrays(options.env, statuses.strays));
    }
  }
  if (flags.json) {
    console.log(JSON.stringify(listed, null, 2));
    return;
  }
  console.log([formatSchedules(listed), ...notes].join('\n\n'));
});

schedules
  .command('rm')
  .description('remove a schedule from src/config/schedules.ts (provision --prune deletes it in AWS)')
  .argument('<name>', "the schedule's name")
  .option('--dry-run', 'print the diff; change nothing')
  .action(async (name: string, flags: { dryRun?: boolean }) => {
    const repo = await findWorkerRepo(process.cwd());
    const { changes } = await planRemoveSchedule(repo, name);
    if (flags.dryRun) {
      process.stdout.write(diffOf(changes));
      console.log('Dry run: nothing was changed.');
      return;
    }
    await applyChanges(repo.root, changes, cancelOnCtrlC());
    for (const path of changes.keys()) console.log(`updated ${path}`);
    console.log(`\nThe schedule stays in AWS until ${beWorkerCommand('provision --prune')} deletes it.`);
  });

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new InvalidArgumentError(`expected a port, 0 to 65535, got "${value}"`);
  return number;
}

/** A whole number, any: the worker's resolve says which are allowed. */
function wholeNumber(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return number;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`);
  return number;
}

/** Ends each command's --help: what to type (as the README says to run it) and why. */
const EXAMPLES: Record<string, [args: string, why: string][]> = {
  provision: [
    ['provision --dry-run', 'the plan for the env the worker was made for; changes nothing'],
    ['provision --env prod --profile prod', 'asks before changing a shared env (--yes to skip)'],
    ['provision --env prod --prune', 'also deletes the schedules schedules.ts no longer has, after showing them'],
  ],
  'add-queue': [
    ['add-queue images-resize --task resize', "the queue, its task and the task's test"],
    ['add-queue', 'in a terminal: asks for the queue and its task'],
  ],
  'add-integration': [
    ['add-integration sentry --dry-run', 'the diff and any conflicts; changes nothing'],
    ['add-integration ratelimit sentry', 'both, merged into your files, then npm install'],
  ],
  info: [['info --env prod', "the queues' SQS names in env prod"]],
  'iam-policy': [
    ['iam-policy --env prod', 'the policies, what each is for and where to attach it'],
    ['iam-policy --env prod --account 123456789012 --json', 'the documents only, without asking STS'],
  ],
  onboarding: [['onboarding', 'the message that asks for GitLab, Sentry and ratelimit set-up']],
  upgrade: [
    ['upgrade --to latest --dry-run', 'the diff and any conflicts; changes nothing'],
    ['upgrade --to latest', 'apply, install, list what changed'],
  ],
  status: [
    ['status --env prod', 'visible, in flight and delayed per queue and DLQ'],
    ['status --watch', 'the same, redrawn every 5 s until Ctrl-C'],
  ],
  'schedule add': [
    [
      "schedule add nightly-report --task report --args '[\"daily\"]' --expression 'cron(0 3 * * ? *)' --timezone Europe/Paris",
      'every day at 03:00 Paris time',
    ],
    ['schedule add', 'in a terminal: asks for the name, the task, when, the time zone and the arguments'],
  ],
  'schedule ls': [
    ['schedule ls', 'each schedule and its next three runs'],
    ['schedule ls --env prod', 'and whether each is provisioned in prod and in step'],
  ],
  'schedule rm': [['schedule rm nightly-report --dry-run', 'the diff; changes nothing']],
  'dlq ls': [['dlq ls --env prod', 'per err- queue: its count, by reason and task']],
  'dlq peek': [['dlq peek orders --env prod -n 5', 'messages decoded; left in place']],
  'dlq redrive': [
    ['dlq redrive orders --env prod --dry-run', 'what would move; changes nothing'],
    ['dlq redrive orders --env prod --task ship --rate 50', 'only task ship, 50 messages a second'],
  ],
  'dlq purge': [['dlq purge orders --env prod', 'asks, showing the count and the env']],
  ui: [
    ['ui --open', 'the page of env local, opened in the browser'],
    ['ui --env prod --profile prod --read-only', 'prod, to look at only'],
  ],
};
for (const [path, lines] of Object.entries(EXAMPLES)) {
  const command = path
    .split(' ')
    .reduce<Command | undefined>((parent, name) => parent?.commands.find((child) => child.name() === name), program);
  const shown = lines.map(([args, why]) => [beWorkerCommand(args), why] as const);
  const width = Math.max(...shown.map(([typed]) => typed.length));
  command?.addHelpText(
    'after',
    `\nExamples:\n${shown.map(([typed, why]) => `  ${typed.padEnd(width)}   # ${why}`).join('\n')}`,
  );
}

// Asked for nothing (`be-worker`, `be-worker dlq`): the help on stdout and exit 0, as --help does;
// commander would print it as an error (exit 1) although nothing went wrong.
const words = process.argv.slice(2);
if (words.length === 0) program.help();
if (words.length === 1 && words[0] === 'dlq') dlq.help();
if (words.length === 1 && words[0] === 'schedule') schedules.help();

program.parseAsync().catch(async (error: unknown) => {
  process.exitCode = await reportError(error);
  // Cancelled is over at once: a request still open (an SQS that never answers) must not hold it.
  if (error instanceof CancelledError) process.exit();
});

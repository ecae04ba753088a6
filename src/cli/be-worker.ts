// The `be-worker` bin: commands run inside a generated worker.
import { Command } from 'commander';
import { deadLetterQueueName, fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { findWorkerRepo } from '../repo.ts';
import { CLI_VERSION } from '../version.ts';
import { reportError } from './ui.ts';

const program = new Command('be-worker')
  .description('Work on a worker made by create-be-worker (add-queue and provision are coming)')
  .version(CLI_VERSION, '-v, --version');

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
    for (const { queue, task, ratelimit } of spec.queues) {
      const full = fullQueueName(queue, naming);
      console.log(
        `  ${queue} → ${full} (DLQ ${deadLetterQueueName(full)}), task ${task}${ratelimit ? `, ratelimit ${ratelimit}` : ''}`,
      );
    }
  });

program.parseAsync().catch((error: unknown) => {
  process.exitCode = reportError(error);
});

// `npm run send -- add 2 3`: sends one task to its queue, as a producer would. Each argument is
// read as JSON when it parses (2, true, "x", [1,2], {"a":1}) and as a string otherwise.
import { sendTask } from '../src/producer.ts';
import { tasks } from '../src/tasks/index.ts';

// pnpm passes a literal `--` through; npm does not.
const argv = process.argv.slice(2);
const [name, ...rawArgs] = argv[0] === '--' ? argv.slice(1) : argv;
const task = tasks.find((candidate) => candidate.name === name);
if (!task) {
  const known = tasks.map((candidate) => candidate.name).join(', ');
  console.error(
    name ? `No task "${name}"; this worker has: ${known}` : `Usage: npm run send -- <task> [args…]  (tasks: ${known})`,
  );
  process.exit(1);
}

const args = rawArgs.map((raw) => {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
});

try {
  const sent = await sendTask(task, args);
  console.log(`Sent ${task.name}${JSON.stringify(args)} as ${sent.id} to ${sent.queue}`);
  process.exit(0);
} catch (error) {
  console.error(`Not sent: ${(error as Error).message}`);
  process.exit(1);
}

// The CLI tests run the real bins, which import the bundle: build it once per test run.
import { execa } from 'execa';

export default async function setup(): Promise<void> {
  await execa('npx', ['tsup', '--silent'], { cwd: new URL('..', import.meta.url) });
}

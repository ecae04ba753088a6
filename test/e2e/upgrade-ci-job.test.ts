// The generated .gitlab-ci.yml's scheduled upgrade, run as GitLab would run it: the `upgrade` job's
// script in a clone of the worker's project (its npm ci from a local registry that has versions A
// and B, test/support/versions.ts), then the `upgrade-merge-request` job's script in a fresh clone
// with the first job's artifacts. GitLab's side is a local bare repository (git's url.insteadOf
// sends the job's push there) and a stub of GitLab's API that records the merge-request requests.
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type PackageRegistry, startPackageRegistry } from '../support/package-registry.ts';
import { startStub, tempDir } from '../support/process.ts';
import { B_CHANGES, installCli, makeVersions, type Version } from '../support/versions.ts';
import { commit } from '../support/worker-tree.ts';

const MINUTES = 60_000;
const PROJECT = { id: '42', path: 'team/shop', branch: 'main' };
const TOKEN = 'glpat-upgrade-token';

let dir: string;
let a: Version;
let b: Version;
let registry: PackageRegistry;
let createByA: string;

interface ApiRequest {
  method: string;
  url: string;
  token: string | undefined;
  body: Record<string, unknown>;
}

/** GitLab's API for merge requests: `existing` is the iid of an open one for the branch, if any. */
async function startGitLab(existing?: number) {
  const requests: ApiRequest[] = [];
  const mrs = `/api/v4/projects/${PROJECT.id}/merge_requests`;
  const { url, server } = await startStub(({ method, url, headers, body }) => {
    requests.push({
      method,
      url,
      token: headers['private-token'] as string | undefined,
      body: JSON.parse(body || '{}'),
    });
    if (method === 'POST' && url === mrs) {
      return existing === undefined
        ? { status: 201, json: { iid: 1, web_url: `${url}/1` } }
        : { status: 409, json: { message: ['Another open merge request already exists for this source branch'] } };
    }
    if (method === 'GET' && url.startsWith(`${mrs}?`))
      return { json: [{ iid: existing, web_url: `${mrs}/${existing}` }] };
    if (method === 'PUT' && url === `${mrs}/${existing}`)
      return { json: { iid: existing, web_url: `${mrs}/${existing}` } };
    return { status: 404, json: { message: '404 Not found' } };
  });
  return { url, requests, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The worker's project at "GitLab": a bare repository with its main branch. */
async function projectOf(worker: string): Promise<string> {
  const origin = join(await tempDir('cbw-gitlab-'), 'shop.git');
  await execa('git', ['init', '-q', '--bare', '-b', PROJECT.branch, origin]);
  // As GitLab does: a push may carry options (merge_request.create…), which a bare repository refuses by default.
  await execa('git', ['config', 'receive.advertisePushOptions', 'true'], { cwd: origin });
  await execa('git', ['push', '-q', origin, `HEAD:${PROJECT.branch}`], { cwd: worker });
  return origin;
}

/** A job's checkout: a fresh clone of the project at its default branch, as a runner makes. */
async function checkout(origin: string): Promise<{ dir: string; sha: string }> {
  const clone = join(await tempDir('cbw-job-'), 'shop');
  await execa('git', ['clone', '-q', origin, clone]);
  return { dir: clone, sha: (await execa('git', ['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim() };
}

/** Runs a job's script entries in one bash, as GitLab's runner does (set -eo pipefail). */
async function runJob(
  worker: string,
  job: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ exitCode: number | undefined; all: string }> {
  const config = parse(await readFile(join(worker, '.gitlab-ci.yml'), 'utf8'));
  const script = (config[job].script as string[]).join('\n');
  const result = await execa('bash', ['-eo', 'pipefail', '-c', script], {
    cwd,
    env: { CI: 'true', npm_config_registry: registry.url, CI_SERVER_HOST: '127.0.0.1', ...env },
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode, all: String(result.all) };
}

/** The scheduled pipeline: the upgrade job, then, with its artifacts, the merge-request job. */
async function scheduledPipeline(worker: string, origin: string, gitlab: { url: string }, upgradeTo?: string) {
  const first = await checkout(origin);
  const upgrade = await runJob(worker, 'upgrade', first.dir, {
    CI_COMMIT_SHA: first.sha,
    ...(upgradeTo ? { BE_WORKER_UPGRADE_TO: upgradeTo } : {}),
  });
  const second = await checkout(origin);
  for (const artifact of ['upgrade.bundle', 'upgrade-summary.md']) {
    const from = join(first.dir, artifact);
    if (await stat(from).catch(() => undefined)) await copyFile(from, join(second.dir, artifact));
  }
  const { port } = new URL(gitlab.url);
  const mergeRequest = await runJob(worker, 'upgrade-merge-request', second.dir, {
    CI_COMMIT_SHA: second.sha,
    UPGRADE_TOKEN: TOKEN,
    CI_SERVER_PROTOCOL: 'http',
    CI_SERVER_PORT: port,
    CI_PROJECT_PATH: PROJECT.path,
    CI_PROJECT_ID: PROJECT.id,
    CI_DEFAULT_BRANCH: PROJECT.branch,
    CI_API_V4_URL: `${gitlab.url}/api/v4`,
    // The job's push reaches the bare repository, not the stub.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `url.${origin}.insteadOf`,
    GIT_CONFIG_VALUE_0: `http://127.0.0.1:${port}/${PROJECT.path}.git`,
  });
  return { upgrade, mergeRequest };
}

/** A file on the project's be-worker-upgrade branch. */
const onBranch = async (origin: string, path: string) =>
  (await execa('git', ['show', `be-worker-upgrade:${path}`], { cwd: origin })).stdout;

/** A worker made by A's CLI, installed (its lockfile committed, as npm ci needs). */
async function workerFromA(name: string): Promise<string> {
  const parent = await tempDir('cbw-ci-upgrade-');
  const made = await execa(createByA, [name, '--user', 'ann', '--queue', 'orders:ship'], {
    cwd: parent,
    env: { CI: 'true', npm_config_registry: registry.url },
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  expect(made.exitCode, made.all).toBe(0);
  return join(parent, name);
}

describe("the generated CI's scheduled upgrade", () => {
  beforeAll(async () => {
    dir = await tempDir('cbw-ci-versions-');
    ({ a, b } = await makeVersions(dir));
    registry = await startPackageRegistry([a, b]);
    createByA = (await installCli(dir, 'a', a))('create-be-worker');
  }, 8 * MINUTES);

  afterAll(() => registry?.stop());

  it(
    'upgrades to the version the team chose, no further, and opens a merge request saying what changed and what the CHANGELOG says; a later run updates that merge request',
    async () => {
      const worker = await workerFromA('shop');
      const origin = await projectOf(worker);
      const gitlab = await startGitLab();
      try {
        // Pinned: A, the create-be-worker of package.json, though the registry's latest is B.
        const pinned = await scheduledPipeline(worker, origin, gitlab);
        expect(pinned.upgrade.exitCode, pinned.upgrade.all).toBe(0);
        expect(pinned.upgrade.all).toContain('Up to date.');
        expect(pinned.mergeRequest.exitCode, pinned.mergeRequest.all).toBe(0);
        expect(gitlab.requests).toEqual([]);
        expect(registry.requests).not.toContain(`/create-be-worker/-/create-be-worker-${b.version}.tgz`);

        // The team sets BE_WORKER_UPGRADE_TO on the schedule.
        const { upgrade, mergeRequest } = await scheduledPipeline(worker, origin, gitlab, b.version);
        expect(upgrade.exitCode, upgrade.all).toBe(0);
        expect(mergeRequest.exitCode, mergeRequest.all).toBe(0);
        expect(await onBranch(origin, 'Dockerfile')).toContain(B_CHANGES.dockerfileLineB);
        expect(JSON.parse(await onBranch(origin, 'be-worker.json')).cliVersion).toBe(b.version);
        await expect(onBranch(origin, 'upgrade-summary.md')).rejects.toThrow();

        expect(gitlab.requests.map(({ method, url }) => `${method} ${url}`)).toEqual([
          `POST /api/v4/projects/${PROJECT.id}/merge_requests`,
        ]);
        const [opened] = gitlab.requests;
        expect(opened?.token).toBe(TOKEN);
        expect(opened?.body).toMatchObject({
          source_branch: 'be-worker-upgrade',
          target_branch: PROJECT.branch,
          title: `Upgrade to create-be-worker ${b.version}`,
          remove_source_branch: true,
        });
        const description = String(opened?.body.description);
        expect(description).toContain(`from create-be-worker ${a.version} to ${b.version}`);
        // The diff, file by file, and the CHANGELOG sections crossed (for workers only).
        expect(description).toMatch(new RegExp(`\\| \`${B_CHANGES.runtimeFile}\` \\| replaced \\| \\+1 −1 \\|`));
        expect(description).toContain(`| \`${B_CHANGES.newFile}\` | added | +2 |`);
        expect(description).toContain(`| \`${B_CHANGES.removedFile}\` | removed |`);
        expect(description).toContain(`#### ${b.version}\n\n${B_CHANGES.workerEntry}`);
        expect(description).not.toContain(B_CHANGES.cliEntry);
        expect(description).not.toContain('Conflicts');

        // The next scheduled run, the merge request still open: it is updated, not opened twice.
        const reopened = await startGitLab(7);
        try {
          const again = await scheduledPipeline(worker, origin, reopened, b.version);
          expect(again.mergeRequest.exitCode, again.mergeRequest.all).toBe(0);
          const calls = reopened.requests.map(({ method, url }) => `${method} ${url.split('?')[0]}`);
          expect(calls).toEqual([
            `POST /api/v4/projects/${PROJECT.id}/merge_requests`,
            `GET /api/v4/projects/${PROJECT.id}/merge_requests`,
            `PUT /api/v4/projects/${PROJECT.id}/merge_requests/7`,
          ]);
          expect(reopened.requests[1]?.url).toContain('source_branch=be-worker-upgrade');
          expect(reopened.requests[2]?.body.description).toBe(description);
        } finally {
          await reopened.stop();
        }
      } finally {
        await gitlab.stop();
      }
    },
    8 * MINUTES,
  );

  it(
    'commits conflicts as markers into a draft merge request that says so, and says so in the job log: never a silent partial upgrade',
    async () => {
      const worker = await workerFromA('clash');
      const runtimeFile = B_CHANGES.runtimeFile;
      const mine = '/** No retry comes sooner than this: our SLO says so. */';
      await writeFile(
        join(worker, runtimeFile),
        (await readFile(join(worker, runtimeFile), 'utf8')).replace(B_CHANGES.runtimeLine, mine),
      );
      await commit(worker, 'Our words');
      const origin = await projectOf(worker);
      const gitlab = await startGitLab();
      try {
        const { upgrade, mergeRequest } = await scheduledPipeline(worker, origin, gitlab, b.version);
        expect(upgrade.exitCode, upgrade.all).toBe(0);
        expect(upgrade.all).toContain(`Conflicts in 1 file(s):\n  ${runtimeFile} (1 conflict marked)`);
        expect(upgrade.all).toMatch(/conflicts are left as markers .*draft/i);
        expect(mergeRequest.exitCode, mergeRequest.all).toBe(0);

        expect(await onBranch(origin, runtimeFile)).toContain(
          `<<<<<<< yours\n${mine}\n=======\n${B_CHANGES.runtimeLineB}\n>>>>>>> create-be-worker ${b.version}\n`,
        );
        // The rest of the upgrade is there too, in the same commit.
        expect(await onBranch(origin, 'Dockerfile')).toContain(B_CHANGES.dockerfileLineB);
        const [opened] = gitlab.requests;
        expect(opened?.body.title).toBe(`Draft: Upgrade to create-be-worker ${b.version} (conflicts to resolve)`);
        const description = String(opened?.body.description);
        expect(description).toMatch(
          /^`be-worker upgrade` brings clash .*\n[\s\S]*\n> \*\*Conflicts are left in 1 file\(s\)/,
        );
        expect(description).toContain(`> - \`${runtimeFile}\` (1 conflict marked)`);
        expect(description).toContain(`| \`${runtimeFile}\` | conflict |`);
        expect(description).toContain(B_CHANGES.workerEntry);
      } finally {
        await gitlab.stop();
      }
    },
    8 * MINUTES,
  );
});

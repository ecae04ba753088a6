// The files that ship a generated worker, checked as far as possible without a Docker engine:
// the Dockerfile with a Dockerfile linter, docker-compose.yml with the Compose specification's
// schema, the Prometheus config with promtool, .gitlab-ci.yml with GitLab's schema and against
// the worker's own package.json. (What the image runs is run for real in test/e2e.)
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { renderWorker } from '../src/render.ts';
import { type Spec, validateSpec } from '../src/spec.ts';
import { tempDir } from './support/process.ts';
import { ciCommands, composeSchema, gitlabCiSchema, scriptsRun } from './support/ship-checks.ts';
import { requireTools } from './support/tools.ts';

const spec = (overrides: Partial<Spec> = {}): Spec =>
  validateSpec({
    name: 'image-resizer',
    description: 'Resizes images',
    queues: [
      { queue: 'image-resizer-add', task: 'add' },
      { queue: 'resize', task: 'resize' },
    ],
    env: 'local',
    user: 'alice',
    region: 'eu-west-1',
    packageManager: 'npm',
    integrations: [],
    ...overrides,
  });

/**
 * A tag naming one release (24.22.3-trixie-slim, v1.43.4), optionally with a digest; not a tag that
 * moves to each new release (24, 24-slim, 1, latest, stable) nor none at all.
 */
const EXACT_IMAGE = /^(?:[\w.-]+(?::\d+)?\/)?[a-z0-9._/-]+:v?\d+\.\d+\.\d+(?:-[\w.-]+)?(?:@sha256:[0-9a-f]{64})?$/;

/** The images a Dockerfile pulls: its syntax directive's frontend and every FROM that is not a stage. */
function dockerfileImages(dockerfile: string): string[] {
  const images: string[] = [];
  const syntax = /^#\s*syntax\s*=\s*(\S+)/im.exec(dockerfile);
  if (syntax?.[1]) images.push(syntax[1]);
  const stages = new Set<string>();
  for (const [, image, stage] of dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    if (!stages.has((image as string).toLowerCase())) images.push(image as string);
    if (stage) stages.add(stage.toLowerCase());
  }
  return images;
}

type CiJob = {
  image?: string | { name: string };
  services?: (string | { name: string })[];
  variables?: Record<string, string>;
  extends?: string;
};

/** The images a GitLab CI file runs: the jobs' and their services', and those a script pulls itself. */
function ciImages(config: Record<string, unknown>): string[] {
  const name = (image: string | { name: string }) => (typeof image === 'string' ? image : image.name);
  const jobs = Object.values(config).filter(
    (value): value is CiJob => typeof value === 'object' && value !== null && !Array.isArray(value),
  );
  const images = jobs.flatMap((job) => [...(job.image ? [job.image] : []), ...(job.services ?? [])].map(name));
  for (const [jobName, job] of Object.entries(config)) {
    if (!jobs.includes(job as CiJob)) continue;
    const { extends: parent, variables } = job as CiJob;
    const known: Record<string, string> = {
      ...(config.variables as Record<string, string>),
      ...(parent ? (config[parent] as CiJob).variables : {}),
      ...variables,
    };
    for (const line of ciCommands({ [jobName]: job })) {
      for (const [, image] of line.matchAll(/buildah (?:from|pull)\s+(?:--\S+\s+)*"?([^"\s]+)"?/g)) {
        const variable = /^\$\{?(\w+)\}?$/.exec(image as string)?.[1];
        // This project's own image (IMAGE: $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA) is not a third party's.
        if (variable === 'IMAGE') continue;
        images.push(variable ? (known[variable] ?? (image as string)) : (image as string));
      }
    }
  }
  return images;
}

const variants = {
  'no integrations, npm': spec(),
  'every integration, npm': spec({
    integrations: ['fluent', 'ratelimit', 'sentry', 'tracing', 'vault'],
    queues: [
      { queue: 'image-resizer-add', task: 'add' },
      { queue: 'resize', task: 'resize', ratelimit: 'images' },
    ],
  }),
  'tracing, pnpm': spec({ integrations: ['tracing'], packageManager: 'pnpm' }),
};

describe.each(Object.entries(variants))('a worker with %s', (_, workerSpec) => {
  const files = renderWorker(workerSpec);
  const file = async (path: string) => {
    const contents = (await files).get(path);
    if (contents === undefined) throw new Error(`${path} was not generated`);
    return contents;
  };
  const packageJson = async () => JSON.parse(await file('package.json'));
  const compose = async () => parse(await file('docker-compose.yml'));

  describe('images', () => {
    it('runs every image at an exact version: no tag that moves in the Dockerfile, docker-compose.yml or .gitlab-ci.yml', async () => {
      const images = [
        ...dockerfileImages(await file('Dockerfile')),
        ...Object.values((await compose()).services as Record<string, { image?: string }>).flatMap(({ image }) =>
          image ? [image] : [],
        ),
        ...ciImages(parse(await file('.gitlab-ci.yml'))),
      ];
      expect(images.length).toBeGreaterThanOrEqual(8);
      for (const image of images) expect(image).toMatch(EXACT_IMAGE);
      // The check can fail: tags that move, and no tag, are refused.
      for (const moving of ['node:24', 'node:24-slim', 'docker/dockerfile:1', 'fauxqs:2.4', 'node', 'x:latest']) {
        expect(moving).not.toMatch(EXACT_IMAGE);
      }
      expect(dockerfileImages('# syntax=docker/dockerfile:1\nFROM node:24 AS build\nFROM build\n')).toEqual([
        'docker/dockerfile:1',
        'node:24',
      ]);
    });

    it('builds and tests on one Node.js release, of the major in .nvmrc', async () => {
      const ci = parse(await file('.gitlab-ci.yml'));
      const nodes = [...dockerfileImages(await file('Dockerfile')), ...ciImages(ci)].filter((image) =>
        /^(?:docker\.io\/(?:library\/)?)?node:/.test(image),
      );
      // The Dockerfile's two stages, the test job and both upgrade jobs.
      expect(nodes.length).toBeGreaterThanOrEqual(5);
      const releases = new Set(nodes.map((image) => /:(\d+\.\d+\.\d+)/.exec(image)?.[1]));
      expect(releases.size, [...nodes].join(', ')).toBe(1);
      const [release] = releases;
      expect(release?.split('.')[0]).toBe((await file('.nvmrc')).trim());
    });
  });

  describe('Dockerfile', () => {
    it('passes the Dockerfile linter with no finding at all', async () => {
      expect(lintDockerfile(await file('Dockerfile'))).toEqual([]);
      // The linter can fail: a broken instruction is an error.
      const broken = lintDockerfile(`${await file('Dockerfile')}\nCOPY dist\n`);
      expect(broken.map(({ severity }) => severity)).toContain(1); // LSP's DiagnosticSeverity.Error
    });

    it('runs compiled JavaScript with production dependencies only, as a non-root user, checked on /healthz', async () => {
      const dockerfile = await file('Dockerfile');
      const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
      expect(final).toMatch(/^\nFROM node:24\.\d+\.\d+(?:-\w+)?-slim\n/);
      expect(final).toContain(workerSpec.packageManager === 'npm' ? 'RUN npm ci --omit=dev' : 'pnpm install --prod');
      expect(final).toContain('COPY --from=build /app/dist ./dist');
      expect(final).not.toMatch(/COPY (src|\.) /);
      expect(final).toContain('USER node');
      expect(final).toMatch(/HEALTHCHECK [^\n]*\\\n[^\n]*\/healthz/);
      // Exec form: node is PID 1 and gets SIGTERM itself.
      expect(final.trim().split('\n').at(-1)).toBe('CMD ["node", "dist/main.js"]');
      expect((await packageJson()).scripts.start).toContain('dist/main.js');
    });

    it('keeps secrets, dependencies and git out of the build context', async () => {
      const ignored = (await file('.dockerignore')).split('\n');
      expect(ignored).toEqual(expect.arrayContaining(['.env', '.env.*', 'node_modules', '.git', 'dist']));
    });
  });

  describe('docker-compose.yml', () => {
    it('validates against the Compose specification', async () => {
      const validate = await composeSchema();
      const config = await compose();
      expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
      // The schema can fail: a service with an unknown keyword is rejected.
      expect(validate({ ...config, services: { ...config.services, sqs: { imag: 'x' } } })).toBe(false);
    });

    it('runs the worker on a local SQS of the fauxqs version the worker tests with, its queues created first', async () => {
      const { services } = await compose();
      const fauxqs = (await packageJson()).devDependencies.fauxqs.replace(/^\^/, '');
      expect(services.sqs.image).toBe(`kibertoad/fauxqs:${fauxqs}`);
      expect(services.worker.build).toBe('.');
      expect(services.worker.depends_on.sqs.condition).toBe('service_healthy');
      expect(services.worker.environment.SQS_ENDPOINT).toBe(`http://sqs:${services.sqs.ports[0].split(':')[1]}`);
      expect(services.worker.environment.APP_ENV).toBe('local');
      // The command runs two compiled entry points: both exist as sources the build compiles.
      const [shell, flag, command] = services.worker.command;
      expect([shell, flag]).toEqual(['sh', '-c']);
      expect(command).toBe('node dist/local-queues.js && exec node dist/main.js');
      for (const entry of command.matchAll(/dist\/([\w-]+)\.js/g)) await file(`src/${entry[1]}.ts`);
    });

    it('has Prometheus behind a profile, scraping the port and path the worker serves its metrics on', async () => {
      const { services } = await compose();
      const { prometheus, worker } = services;
      expect(prometheus.profiles).toEqual(['metrics', 'grafana']);
      const [source, target] = prometheus.volumes[0].split(':');
      expect(target).toBe('/etc/prometheus/prometheus.yml');
      const [alertsSource, alertsTarget] = prometheus.volumes[1].split(':');
      expect(alertsTarget).toBe('/etc/prometheus/alerts.yml');
      const config = parse(await file(source.replace(/^\.\//, '')));
      const [job] = config.scrape_configs;
      expect(job.metrics_path).toBe('/metrics');
      const port = worker.environment.HTTP_PORT;
      expect(job.static_configs[0].targets).toEqual([`worker:${port}`]);
      expect(worker.ports).toContain(`${port}:${port}`);
      // Prometheus itself accepts the file.
      await requireTools(['promtool']);
      const dir = await tempDir('cbw-prometheus-');
      await writeFile(join(dir, 'prometheus.yml'), await file(source.replace(/^\.\//, '')));
      await writeFile(join(dir, 'alerts.yml'), await file(alertsSource.replace(/^\.\//, '')));
      const checked = await execa('promtool', ['check', 'config', join(dir, 'prometheus.yml')], {
        reject: false,
        all: true,
      });
      expect(checked.exitCode, checked.all).toBe(0);
    });

    it('has Grafana behind a profile, with Prometheus as its data source and the worker’s dashboard loaded', async () => {
      const { services } = await compose();
      const { grafana } = services;
      expect(grafana.profiles).toEqual(['grafana']);
      expect(grafana.depends_on).toContain('prometheus');
      const mounts = Object.fromEntries(
        grafana.volumes.map((volume: string) => volume.split(':').slice(0, 2).reverse()),
      ) as Record<string, string>;
      const provisioning = (mounts['/etc/grafana/provisioning'] ?? '').replace(/^\.\//, '');
      const source = parse(await file(`${provisioning}/datasources/prometheus.yml`));
      expect(source.datasources[0].url).toBe(`http://prometheus:${services.prometheus.ports[0].split(':')[1]}`);
      const provider = parse(await file(`${provisioning}/dashboards/dashboards.yml`));
      const dashboardPath = `${provider.providers[0].options.path}/dashboard.json`;
      expect(mounts[dashboardPath]).toBe('./docker/grafana/dashboard.json');
      const dashboard = JSON.parse(await file('docker/grafana/dashboard.json'));
      expect(
        dashboard.panels.every(
          (panel: { datasource: { uid: string } }) => panel.datasource.uid === source.datasources[0].uid,
        ),
      ).toBe(true);
    });

    it('has Jaeger receiving the worker’s traces behind a profile exactly when tracing was chosen', async () => {
      const { services } = await compose();
      if (!workerSpec.integrations.includes('tracing')) {
        expect(services.jaeger).toBeUndefined();
        expect(services.worker.environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
        return;
      }
      expect(services.jaeger.profiles).toEqual(['tracing']);
      const endpoint = new URL(services.worker.environment.OTEL_EXPORTER_OTLP_ENDPOINT);
      expect(endpoint.hostname).toBe('jaeger');
      expect(services.jaeger.ports).toContain(`${endpoint.port}:${endpoint.port}`);
    });
  });

  describe('.gitlab-ci.yml', () => {
    it("validates against GitLab's CI schema", async () => {
      const validate = await gitlabCiSchema();
      const config = parse(await file('.gitlab-ci.yml'));
      expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
      expect(validate({ ...config, test: { ...config.test, scripts: ['typo'] } })).toBe(false);
    });

    it('tests on Node 24 with the scripts the worker has, caching the package manager’s downloads', async () => {
      const config = parse(await file('.gitlab-ci.yml'));
      expect(config.stages).toEqual(['test', 'build', 'release', 'deploy']);
      expect(config.test.image).toMatch(/^node:24\.\d+\.\d+/);
      const used = scriptsRun(config.test.script);
      expect(used).toEqual(['lint', 'typecheck', 'test', 'build']);
      const scripts = Object.keys((await packageJson()).scripts);
      for (const script of scriptsRun(ciCommands(config))) expect(scripts).toContain(script);
      const { ci, lockfile, cacheDir } =
        workerSpec.packageManager === 'npm'
          ? { ci: 'npm ci --cache .npm', lockfile: 'package-lock.json', cacheDir: '.npm/' }
          : {
              ci: 'pnpm install --frozen-lockfile --store-dir .pnpm-store',
              lockfile: 'pnpm-lock.yaml',
              cacheDir: '.pnpm-store/',
            };
      expect(config.test.script.find((line: string) => line.startsWith(ci.split(' ')[0] as string))).toContain(ci);
      expect(config.test.cache).toEqual({ key: { files: [lockfile] }, paths: [cacheDir] });
      // The cache lives in the project: git and the image ignore it.
      expect((await file('.gitignore')).split('\n')).toContain(cacheDir);
    });

    it('builds and pushes the image without a daemon on the default branch and tags only, tagged by SHA and tag', async () => {
      const config = parse(await file('.gitlab-ci.yml'));
      const { build } = config;
      expect(build.extends).toBe('.buildah');
      expect(build.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }, { if: '$CI_COMMIT_TAG' }]);
      expect(config.variables.IMAGE).toBe('$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA');
      const script = build.script.join('\n');
      expect(script).toContain('buildah build --tag "$IMAGE" .');
      expect(script).toContain('buildah push "$IMAGE"');
      expect(script).toContain('buildah push "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"');
      expect(config['.buildah'].before_script.join('\n')).toContain('"$CI_REGISTRY"');
    });

    it('never puts a registry password on a command line, and pins every image', async () => {
      const config = parse(await file('.gitlab-ci.yml'));
      const commands = ciCommands(config).join('\n');
      // A password in argv shows in `ps` and in job traces; each login reads it from stdin.
      expect(commands).not.toMatch(/--password(?!-stdin)\b/);
      expect(commands).not.toMatch(/login[^\n]*\s-p\s/);
      const logins = commands.split('\n').filter((line) => line.includes('buildah login'));
      expect(logins.length).toBeGreaterThanOrEqual(2);
      for (const login of logins) expect(login).toMatch(/\| buildah login --username \S+ --password-stdin "\$\w+"$/);
      const images = Object.values(config)
        .map((job) => (job as { image?: string | { name: string } } | null)?.image)
        .filter((image) => image !== undefined)
        .map((image) => (typeof image === 'string' ? image : image.name));
      expect(images.length).toBeGreaterThanOrEqual(2);
      for (const image of images) {
        // A tag after the last "/", and not one that moves to every new release.
        expect(image).toMatch(/:[\w.-]+$/);
        expect(image).not.toMatch(/:(latest|stable)$/);
      }
      expect(config['.buildah'].image).toMatch(/^quay\.io\/buildah\/stable:v\d+\.\d+\.\d+$/);
    });

    it('has an upgrade job, off unless a schedule asks for it, that opens a merge request', async () => {
      const config = parse(await file('.gitlab-ci.yml'));
      const { upgrade, 'upgrade-merge-request': push } = config;
      const rules = [{ if: '$CI_PIPELINE_SOURCE == "schedule" && $BE_WORKER_UPGRADE == "true"' }];
      expect(upgrade.rules).toEqual(rules);
      expect(push.rules).toEqual(rules);
      const script = upgrade.script.join('\n');
      expect(script).toContain(workerSpec.packageManager === 'npm' ? 'npm ci' : 'pnpm install --frozen-lockfile');
      expect(script).toMatch(
        /be-worker upgrade \$\{BE_WORKER_UPGRADE_TO:\+--to "\$BE_WORKER_UPGRADE_TO"\} --yes --summary upgrade-summary\.md \|\| status=\$\?/,
      );
      const pushScript = push.script.join('\n');
      // The merge request by GitLab's API, described by the upgrade's summary (test/e2e/upgrade-ci-job.test.ts runs both jobs).
      for (const part of ['env.CI_API_V4_URL', 'env.CI_PROJECT_ID', '/merge_requests'])
        expect(pushScript).toContain(part);
      expect(pushScript).toContain('readFileSync("upgrade-summary.md", "utf8")');
      expect(`${script}\n${pushScript}`).not.toMatch(/\$UPGRADE_TOKEN@/);
      // Valid shell (GitLab runs each entry in one bash), and no other job upgrades.
      for (const entry of [script, pushScript]) {
        const syntax = await execa('bash', ['-n', '-c', entry], { reject: false });
        expect(syntax.exitCode, syntax.stderr).toBe(0);
      }
      const others = Object.entries(config).filter(([name]) => name !== 'upgrade');
      expect(ciCommands(Object.fromEntries(others)).join('\n')).not.toContain('be-worker upgrade');
    });

    it('upgrades with the create-be-worker the worker pins, or an exact version the schedule sets, never a tag that moves', async () => {
      const { upgrade } = parse(await file('.gitlab-ci.yml'));
      const script = upgrade.script.join('\n');
      // The worker's own be-worker, installed from its lockfile: nothing fetched by name at run time.
      const own = workerSpec.packageManager === 'npm' ? 'npx --no-install be-worker' : 'pnpm exec be-worker';
      expect(script).toContain(`${own} upgrade `);
      expect(script).not.toMatch(/npx (--yes|-y)\b|-p create-be-worker|pnpm dlx|--to latest/);
      const guard = upgrade.script.find(
        (entry: string) => entry.includes('BE_WORKER_UPGRADE_TO') && !entry.includes('be-worker upgrade'),
      );
      expect(upgrade.script.indexOf(guard)).toBeLessThan(
        upgrade.script.findIndex((entry: string) => entry.includes('be-worker upgrade')),
      );
      const verdicts: [string, number][] = [
        ['', 0],
        ['1.4.0', 0],
        ['12.0.10', 0],
        ['2.0.0-rc.1', 0],
        ['latest', 1],
        ['next', 1],
        ['^1.4.0', 1],
        ['1.4', 1],
        ['v1.4.0', 1],
        ['1.4.0 --base /tmp/x', 1],
        ['1.4.0\nlatest', 1],
      ];
      for (const [to, exitCode] of verdicts) {
        const run = await execa('bash', ['-c', guard], { env: { BE_WORKER_UPGRADE_TO: to }, reject: false });
        expect(run.exitCode, JSON.stringify(to)).toBe(exitCode);
      }
    });

    it("keeps UPGRADE_TOKEN from the job that runs packages: only a job running git and node's fetch alone, in the environment the token is scoped to, pushes", async () => {
      const config = parse(await file('.gitlab-ci.yml'));
      const { upgrade, 'upgrade-merge-request': push } = config;
      // The job that runs packages refuses to start while the token is visible to it.
      const [guard] = upgrade.script;
      expect(guard).toContain('UPGRADE_TOKEN');
      const seen = await execa('bash', ['-c', guard], { env: { UPGRADE_TOKEN: 'glpat-secret' }, reject: false });
      expect(seen.exitCode).toBe(1);
      expect(seen.stderr).toContain('environment scope be-worker-upgrade');
      expect(`${seen.stdout}${seen.stderr}`).not.toContain('glpat-secret');
      const unseen = await execa('bash', ['-c', guard], { env: { UPGRADE_TOKEN: '' }, reject: false });
      expect(unseen.exitCode, unseen.stderr).toBe(0);
      expect(upgrade.script.slice(1).join('\n')).not.toContain('UPGRADE_TOKEN');
      // The job that uses it: scoped by its environment (access: no deployment), running git only.
      expect(push.environment).toEqual({ name: 'be-worker-upgrade', action: 'access' });
      const pushCommands = ciCommands({ push }).join('\n');
      expect(pushCommands).toContain('password=$UPGRADE_TOKEN');
      expect(pushCommands).not.toMatch(/\b(npm|npx|pnpm|corepack|yarn)\b/);
      // node runs only the script written in the job, which imports nothing but node's own modules.
      expect(pushCommands.split('\n').filter((line) => /(^|\s)node\s/.test(line))).toEqual([
        expect.stringContaining("node --input-type=module -e '"),
      ]);
      expect([...pushCommands.matchAll(/\bfrom "([^"]+)"/g)].map(([, name]) => name)).toEqual(['node:fs']);
      expect(push.image).toBe(upgrade.image);
      const users = Object.entries(config).filter(([, job]) =>
        ciCommands({ job }).join('\n').includes('UPGRADE_TOKEN'),
      );
      expect(users.map(([name]) => name).sort()).toEqual(['upgrade', 'upgrade-merge-request']);
      // It pushes the commit the other job made, handed over as a git bundle.
      expect(push.needs).toEqual(['upgrade']);
      expect(upgrade.artifacts.paths).toEqual(['upgrade.bundle', 'upgrade-summary.md']);
      expect(upgrade.script.join('\n')).toContain(
        'git bundle create upgrade.bundle "$CI_COMMIT_SHA..be-worker-upgrade"',
      );
      expect(pushCommands).toContain('git fetch -q upgrade.bundle be-worker-upgrade');
      expect(pushCommands).toContain('FETCH_HEAD:refs/heads/be-worker-upgrade');
    });

    it('releases a tag to the registry named by RELEASE_IMAGE, only when it is set', async () => {
      const { release } = parse(await file('.gitlab-ci.yml'));
      expect(release.stage).toBe('release');
      expect(release.rules).toEqual([{ if: '$CI_COMMIT_TAG && $RELEASE_IMAGE' }]);
      expect(release.script.join('\n')).toContain('buildah push "$IMAGE" "docker://$RELEASE_IMAGE:$CI_COMMIT_TAG"');
    });

    it('logs in to ECR with the AWS CLI of a pinned image, installing nothing where the AWS keys are', async () => {
      const { release } = parse(await file('.gitlab-ci.yml'));
      const commands = ciCommands({ release }).join('\n');
      expect(commands).not.toMatch(/\b(dnf|yum|microdnf|apt-get|apk|pip3?|curl|wget)\b/);
      expect(release.variables.AWS_CLI_IMAGE).toMatch(/^docker\.io\/amazon\/aws-cli:\d+\.\d+\.\d+$/);
      expect(commands).toContain('aws_cli=$(buildah from --quiet "$AWS_CLI_IMAGE")');
      expect(commands).toMatch(
        /buildah run [^\n|]*"\$aws_cli" -- aws ecr get-login-password [^\n|]*\| buildah login --username AWS --password-stdin "\$RELEASE_REGISTRY"/,
      );
      // The keys reach the CLI in a file, never on a command line.
      expect(commands).not.toMatch(/(--env|-e)[ =]"?AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)=/);
    });
  });
});

/** The worker's deploy/k8s/ as rendered, written into `dir`. */
async function writeDeployTree(dir: string, tree: Map<string, string>): Promise<void> {
  for (const [path, text] of tree) {
    if (!path.startsWith('deploy/k8s/')) continue;
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

describe.each([
  ['local', ['dev', 'prod']],
  ['prod', ['dev', 'prod']],
  ['staging-eu', ['dev', 'prod', 'staging-eu']],
])('the deploy jobs of a worker made for env %s', (env, envs) => {
  const ci = async () => parse((await renderWorker(spec({ env }))).get('.gitlab-ci.yml') ?? '');

  it('has one manual deploy:<env> job per overlay, only where the build ran and the env’s kubeconfig is set', async () => {
    const config = await ci();
    expect(Object.keys(config).filter((key) => key.startsWith('deploy:'))).toEqual(
      envs.map((name) => `deploy:${name}`),
    );
    expect(config['.deploy'].stage).toBe('deploy');
    expect(config['.deploy'].needs).toEqual(['build']);
    // Manual and optional: a pipeline nobody deploys from is green, not blocked.
    expect(config['.deploy'].allow_failure).toBe(true);
    expect(config['.deploy'].image).toMatch(EXACT_IMAGE);
    for (const name of envs) {
      const job = config[`deploy:${name}`];
      const variable = `KUBECONFIG_${name.toUpperCase().replaceAll('-', '_')}`;
      expect(job.extends).toBe('.deploy');
      expect(job.rules).toEqual([
        { if: `$${variable} && ($CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG)`, when: 'manual' },
      ]);
      // The File variable's path, read in the script: GitLab would put the file's contents in a YAML variable.
      expect(job.before_script).toEqual([`export KUBECONFIG="$${variable}"`]);
      expect(job.variables).toEqual({ OVERLAY: `deploy/k8s/overlays/${name}` });
      expect(job.environment).toEqual({ name });
      expect(job.resource_group).toBe(`deploy-${name}`);
    }
  });

  it('applies the overlay of its env with the image the build job pushed, with plain kubectl', async () => {
    await requireTools(['kubectl']);
    const config = await ci();
    const script: string[] = config['.deploy'].script;
    const apply = script.findIndex((line) => /\bkubectl apply\b/.test(line));
    expect(script.slice(apply)).toEqual(['kubectl apply -k .deploy']);
    expect(config.variables.IMAGE).toBe('$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA');
    const name = envs.at(-1) as string;
    const dir = await tempDir('cbw-deploy-');
    await writeDeployTree(dir, await renderWorker(spec({ env })));
    // What the job runs up to the apply, as GitLab runs it: IMAGE expanded, OVERLAY from the job.
    const image = 'registry.example.com:5050/team/image-resizer:0123456789abcdef0123456789abcdef01234567';
    await execa('sh', ['-euc', script.slice(0, apply).join('\n')], {
      cwd: dir,
      env: { IMAGE: image, ...config[`deploy:${name}`].variables },
    });
    const rendered = parseAllDocuments((await execa('kubectl', ['kustomize', '.deploy'], { cwd: dir })).stdout).map(
      (document) => document.toJS(),
    );
    const deployment = rendered.find(({ kind }) => kind === 'Deployment');
    expect(deployment.metadata.namespace).toBe(`image-resizer-${name}`);
    expect(deployment.spec.template.spec.containers.map(({ image }: { image: string }) => image)).toEqual([image]);
  });
});

describe('the CI of a worker made with --deploy none', () => {
  it('has no deploy stage and no deploy job', async () => {
    const config = parse((await renderWorker(spec({ deploy: 'none' }))).get('.gitlab-ci.yml') ?? '');
    expect(config.stages).toEqual(['test', 'build', 'release']);
    expect(Object.keys(config).filter((key) => key.includes('deploy'))).toEqual([]);
  });
});

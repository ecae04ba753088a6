// A local npm registry (verdaccio) in its own process, for the end-to-end tests: this package is
// packed and published to it, and everything else is proxied from the registry npm uses here, so a
// worker is created and installed as a user's is, from a registry.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort, REPO, tempDir, waitFor } from './process.ts';

export interface LocalRegistry {
  url: string;
  /** For the npm commands that install from it. */
  env: { npm_config_registry: string; npm_config_cache: string };
  /** Packs this repository (built by the global set-up) and publishes it. */
  publishThisPackage(): Promise<{ version: string; integrity: string }>;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = await tempDir('cbw-registry-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  // The registry npm would use on this machine (a mirror, in some CIs), before ours replaces it.
  const upstream = (await execa('npm', ['config', 'get', 'registry'])).stdout.trim();
  // JSON is YAML, and verdaccio reads YAML.
  const config = {
    storage: join(dir, 'storage'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
    uplinks: { npm: { url: upstream, timeout: '60s', max_fails: 5 } },
    packages: {
      // Ours only from here: the registry's create-be-worker (if any) must never stand in for it.
      'create-be-worker': { access: '$all', publish: '$all' },
      '**': { access: '$all', publish: '$authenticated', proxy: 'npm' },
    },
    server: { keepAliveTimeout: 60 },
    log: { type: 'stdout', format: 'pretty', level: 'warn' },
  };
  // npx keeps what it ran in <cache>/_npx: a cache of our own, so this run never reuses an earlier
  // run's create-be-worker, nor races another run's, while the downloads (_cacache) are shared.
  const cache = join(dir, 'npm-cache');
  await mkdir(cache);
  const shared = (await execa('npm', ['config', 'get', 'cache'])).stdout.trim();
  await mkdir(join(shared, '_cacache'), { recursive: true });
  await symlink(join(shared, '_cacache'), join(cache, '_cacache'));
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const child = execa(
    'node',
    [
      join(REPO, 'node_modules', 'verdaccio', 'bin', 'verdaccio'),
      '--config',
      configFile,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { reject: false, all: true },
  );
  let exited: string | undefined;
  void child.then(({ all }) => {
    exited = all;
  });
  await waitFor('verdaccio to answer', async () => {
    if (exited !== undefined) throw new Error(`verdaccio exited: ${exited}`);
    return (await fetch(new URL('-/ping', url))).ok ? true : undefined;
  });

  return {
    url,
    env: { npm_config_registry: url, npm_config_cache: cache },
    async publishThisPackage() {
      // The global set-up has just built dist/: skip prepack's second build.
      const packed = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], {
        cwd: REPO,
      });
      const tarball = join(dir, packed.stdout.trim().split('\n').at(-1) ?? '');
      // Anonymous publish is allowed for this package; npm still wants a token to send.
      await execa(
        'npm',
        ['publish', tarball, '--registry', url, `--//127.0.0.1:${port}/:_authToken=e2e`, '--no-provenance'],
        { cwd: dir },
      );
      const view = await execa('npm', ['view', 'create-be-worker', '--json', '--registry', url]);
      const { version, dist } = JSON.parse(view.stdout) as { version: string; dist: { integrity: string } };
      return { version, integrity: dist.integrity };
    },
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}

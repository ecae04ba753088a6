// A registry for the tests that serves create-be-worker from tarballs made by `npm pack`, and sends
// every other request on to the registry npm uses here (a redirect), so installs work as usual.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { execa } from 'execa';
import type { Version } from './versions.ts';

export interface PackageRegistry {
  url: string;
  /** The paths asked for create-be-worker (packument and tarballs), in order. */
  requests: string[];
  stop(): Promise<void>;
}

export async function startPackageRegistry(versions: Version[]): Promise<PackageRegistry> {
  const upstream = (await execa('npm', ['config', 'get', 'registry'])).stdout.trim().replace(/\/$/, '');
  const tarballs = new Map<string, Buffer>();
  const manifests: Record<string, unknown> = {};
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path === '/create-be-worker') {
      requests.push(path);
      const latest = versions.at(-1)?.version;
      const packument = { name: 'create-be-worker', 'dist-tags': { latest }, versions: manifests };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument));
    } else if (tarballs.has(path)) {
      requests.push(path);
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarballs.get(path));
    } else {
      response.writeHead(302, { location: `${upstream}${path}` }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  for (const { version, tarball } of versions) {
    const bytes = await readFile(tarball);
    const path = `/create-be-worker/-/create-be-worker-${version}.tgz`;
    tarballs.set(path, bytes);
    const manifest = JSON.parse((await execa('tar', ['-xzOf', tarball, 'package/package.json'])).stdout);
    manifests[version] = {
      ...manifest,
      dist: {
        tarball: `${url}${path}`,
        integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
        shasum: createHash('sha1').update(bytes).digest('hex'),
      },
    };
  }
  return {
    url: `${url}/`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

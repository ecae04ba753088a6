// The vault integration against a local server with the shapes of Vault's KV v2 and Kubernetes
// login APIs.
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/process.ts';
import { generated } from './support.ts';

/** templates/integrations/vault/files/src/integrations/vault.ts, as generated. */
type VaultModule = {
  withVaultSecrets(env: Record<string, string | undefined>): Promise<Record<string, string | undefined>>;
};

const SECRETS: Record<string, Record<string, string>> = {
  'secret/shop': { database_url: 'postgres://db/shop', api_key: 'k-123' },
};
const requests: { method: string; path: string; token?: string; body?: string }[] = [];
let vault: Server;
let address: string;

beforeAll(async () => {
  vault = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const path = request.url ?? '';
      requests.push({ method: request.method ?? '', path, token: request.headers['x-vault-token'] as string, body });
      const reply = (status: number, json: object) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (path === '/v1/auth/kubernetes/login') {
        const { role, jwt } = JSON.parse(body);
        return role === 'shop' && jwt === 'pod-jwt'
          ? reply(200, { auth: { client_token: 's.k8s' } })
          : reply(403, { errors: ['denied'] });
      }
      const match = /^\/v1\/secret\/data\/(.+)$/.exec(path);
      const token = request.headers['x-vault-token'];
      if (token !== 's.root' && token !== 's.k8s') return reply(403, { errors: ['permission denied'] });
      const data = match ? SECRETS[`secret/${match[1]}`] : undefined;
      return data ? reply(200, { data: { data, metadata: { version: 1 } } }) : reply(404, { errors: [] });
    });
  });
  await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
  const bound = vault.address();
  address = `http://127.0.0.1:${typeof bound === 'object' && bound ? bound.port : 0}`;
});

afterAll(() => {
  vault?.close();
});

describe('vault', () => {
  const secrets = 'DATABASE_URL=secret/shop#database_url,API_KEY=secret/shop#api_key';

  it('reads the named secrets with a token; a variable already set wins', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const env = await withVaultSecrets({
      VAULT_ADDR: address,
      VAULT_TOKEN: 's.root',
      VAULT_SECRETS: secrets,
      API_KEY: 'mine',
    });
    expect(env.DATABASE_URL).toBe('postgres://db/shop');
    expect(env.API_KEY).toBe('mine');
  });

  it('logs in with the pod’s service account token (Kubernetes auth)', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const jwt = join(await tempDir(), 'token');
    await writeFile(jwt, 'pod-jwt\n');
    const env = await withVaultSecrets({
      VAULT_ADDR: address,
      VAULT_AUTH: 'kubernetes',
      VAULT_K8S_ROLE: 'shop',
      VAULT_K8S_TOKEN_PATH: jwt,
      VAULT_SECRETS: secrets,
    });
    expect(env.API_KEY).toBe('k-123');
    expect(requests.some(({ path, token }) => path === '/v1/secret/data/shop' && token === 's.k8s')).toBe(true);
  });

  it('stops start-up naming the path of a missing secret or key', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const base = { VAULT_ADDR: address, VAULT_TOKEN: 's.root' };
    await expect(withVaultSecrets({ ...base, VAULT_SECRETS: 'X=secret/nowhere#key' })).rejects.toThrow(
      'Vault secret secret/nowhere#key does not exist',
    );
    await expect(withVaultSecrets({ ...base, VAULT_SECRETS: 'X=secret/shop#nokey' })).rejects.toThrow(
      'Vault secret secret/shop#nokey has no key "nokey"',
    );
    await expect(withVaultSecrets({ ...base, VAULT_TOKEN: 'wrong', VAULT_SECRETS: secrets })).rejects.toThrow(/403/);
  });

  it('does nothing while VAULT_ADDR is unset', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const env = { VAULT_SECRETS: secrets };
    expect(await withVaultSecrets(env)).toBe(env);
  });
});

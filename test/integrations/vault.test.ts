// The vault integration against a local server with the shapes of Vault's KV v2 and Kubernetes
// login APIs.
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStub, tempDir } from '../support/process.ts';
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
  ({ server: vault, url: address } = await startStub(({ method, url, headers, body }) => {
    const token = headers['x-vault-token'] as string | undefined;
    requests.push({ method, path: url, token, body });
    if (url === '/v1/auth/kubernetes/login') {
      const { role, jwt } = JSON.parse(body);
      return role === 'shop' && jwt === 'pod-jwt'
        ? { json: { auth: { client_token: 's.k8s' } } }
        : { status: 403, json: { errors: ['denied'] } };
    }
    if (token !== 's.root' && token !== 's.k8s') return { status: 403, json: { errors: ['permission denied'] } };
    const match = /^\/v1\/secret\/data\/(.+)$/.exec(url);
    const data = match ? SECRETS[`secret/${match[1]}`] : undefined;
    return data ? { json: { data: { data, metadata: { version: 1 } } } } : { status: 404, json: { errors: [] } };
  }));
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

  it('never says the credentials of a VAULT_ADDR that has some', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    for (const addr of ['http://admin:hunter2@127.0.0.1:1', 'http://hunter2@localhost:8200']) {
      const failure = withVaultSecrets({ VAULT_ADDR: addr, VAULT_TOKEN: 's.root', VAULT_SECRETS: secrets });
      await expect(failure).rejects.toThrow(/cannot reach Vault at VAULT_ADDR http:\/\/\*\*\*@/);
      await expect(failure).rejects.not.toThrow('hunter2');
    }
  });

  it('does nothing while VAULT_ADDR is unset', async () => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const env = { VAULT_SECRETS: secrets };
    expect(await withVaultSecrets(env)).toBe(env);
  });

  it.each([
    'http://vault.example.com',
    'http://vault.example.com:8200',
    'http://10.0.0.5:8200',
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io:8200',
    'ftp://vault.example.com',
  ])('refuses VAULT_ADDR=%s (the token would travel in clear), asking for https://', async (addr) => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const before = requests.length;
    for (const env of [{ VAULT_ADDR: addr }, { VAULT_ADDR: addr, VAULT_TOKEN: 's.root', VAULT_SECRETS: secrets }]) {
      const refusal = withVaultSecrets(env);
      await expect(refusal).rejects.toThrow(/VAULT_ADDR: .*use https:\/\//);
      await expect(refusal).rejects.not.toThrow('s.root');
    }
    expect(requests.length).toBe(before);
  });

  it.each([
    'https://vault.example.com',
    'https://vault.example.com:8200',
    'http://localhost:8200',
    'http://127.0.0.1:8200',
    'http://127.1.2.3:8200',
    'http://[::1]:8200',
  ])('accepts VAULT_ADDR=%s (TLS, or plain HTTP on this machine)', async (addr) => {
    const { withVaultSecrets } = await generated<VaultModule>('src/integrations/vault.ts');
    const env = { VAULT_ADDR: addr, VAULT_TOKEN: 's.root' };
    expect(await withVaultSecrets(env)).toBe(env);
  });
});

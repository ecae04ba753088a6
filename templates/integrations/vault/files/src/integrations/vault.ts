// Secrets from HashiCorp Vault (KV version 2), read once at start-up into the environment the
// configuration is parsed from: VAULT_SECRETS maps variables to secrets, e.g.
//   DATABASE_URL=secret/shop#database_url,API_KEY=secret/shop#api_key
// (`<mount>/<path>#<key>`). Token auth (VAULT_TOKEN) or Kubernetes auth (the pod's service
// account token). A missing secret stops start-up with its path. VAULT_ADDR is https://, or plain
// http:// to this machine only (a dev vault). Off while VAULT_ADDR is unset.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseEnv } from '../runtime/config.ts';
import { ConfigError } from '../runtime/errors.ts';
import { redactUrls } from '../runtime/redact.ts';

const SECRET = /^([A-Z_][A-Z0-9_]*)=([^#=,\s]+)\/([^#,\s]+)#([^,\s]+)$/;

/** TLS, or plain HTTP to this machine only (a local dev vault): anything else sends the token in clear. */
function secureAddress(address: string): boolean {
  // Not an http(s) URL at all: the URL check says so (zod runs this refinement too).
  if (!URL.canParse(address) || !/^https?:/.test(address)) return true;
  const { protocol, hostname } = new URL(address);
  if (protocol === 'https:') return true;
  // The URL parser normalises IPv4 (127.1 → 127.0.0.1) and keeps IPv6 in brackets.
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
  return loopback;
}

export const vaultEnv = {
  VAULT_ADDR: z
    .url({
      protocol: /^https?$/,
      error: 'not an https:// URL: use https://<vault host>:8200 (or http:// on this machine)',
    })
    .refine(secureAddress, {
      message:
        'plain http:// to a host other than this machine (localhost, 127.0.0.0/8, ::1) would send the Vault token in clear; use https://',
    })
    .optional(),
  VAULT_AUTH: z.enum(['token', 'kubernetes']).default('token'),
  VAULT_TOKEN: z.string().min(1).optional(),
  VAULT_NAMESPACE: z.string().min(1).optional(),
  VAULT_K8S_ROLE: z.string().min(1).optional(),
  VAULT_K8S_MOUNT: z.string().min(1).default('kubernetes'),
  VAULT_K8S_TOKEN_PATH: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  VAULT_SECRETS: z
    .string()
    .refine((value) => value.split(',').every((entry) => SECRET.test(entry.trim())), {
      message: 'a list of VARIABLE=<mount>/<path>#<key>, e.g. "DATABASE_URL=secret/shop#database_url"',
    })
    .optional(),
};

/** The environment with the Vault secrets it names added (variables already set win). */
export async function withVaultSecrets(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  const config = parseEnv(z.object(vaultEnv), env);
  if (!config.VAULT_ADDR || !config.VAULT_SECRETS) return env;
  const vault = new Vault(config.VAULT_ADDR, config.VAULT_NAMESPACE);
  await vault.login(config);
  const secrets: Record<string, string> = {};
  for (const entry of config.VAULT_SECRETS.split(',')) {
    const [, variable = '', mount = '', path = '', key = ''] = SECRET.exec(entry.trim()) ?? [];
    if (env[variable] === undefined || env[variable] === '') secrets[variable] = await vault.read(mount, path, key);
  }
  return { ...env, ...secrets };
}

class Vault {
  readonly #address: string;
  readonly #namespace: string | undefined;
  #token = '';

  constructor(address: string, namespace: string | undefined) {
    this.#address = address;
    this.#namespace = namespace;
  }

  async login(config: z.output<z.ZodObject<typeof vaultEnv>>): Promise<void> {
    if (config.VAULT_AUTH === 'token') {
      if (!config.VAULT_TOKEN) throw new ConfigError('VAULT_TOKEN is not set (VAULT_AUTH=token)');
      this.#token = config.VAULT_TOKEN;
      return;
    }
    if (!config.VAULT_K8S_ROLE) throw new ConfigError('VAULT_K8S_ROLE is not set (VAULT_AUTH=kubernetes)');
    const jwt = (await readFile(config.VAULT_K8S_TOKEN_PATH, 'utf8').catch(() => '')).trim();
    if (!jwt)
      throw new ConfigError(`no service account token at ${config.VAULT_K8S_TOKEN_PATH} (VAULT_K8S_TOKEN_PATH)`);
    const answer = await this.#call(`auth/${config.VAULT_K8S_MOUNT}/login`, {
      method: 'POST',
      body: JSON.stringify({ role: config.VAULT_K8S_ROLE, jwt }),
    });
    const token = (answer as { auth?: { client_token?: string } }).auth?.client_token;
    if (!token) throw new ConfigError(`Vault's Kubernetes login for role ${config.VAULT_K8S_ROLE} gave no token`);
    this.#token = token;
  }

  async read(mount: string, path: string, key: string): Promise<string> {
    const where = `${mount}/${path}#${key}`;
    const answer = await this.#call(`${mount}/data/${path}`, {}, where);
    const value = (answer as { data?: { data?: Record<string, unknown> } }).data?.data?.[key];
    if (value === undefined || value === null) throw new ConfigError(`Vault secret ${where} has no key "${key}"`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  async #call(path: string, init: RequestInit, secret?: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(`/v1/${path}`, this.#address), {
        ...init,
        headers: {
          'content-type': 'application/json',
          ...(this.#token ? { 'x-vault-token': this.#token } : {}),
          ...(this.#namespace ? { 'x-vault-namespace': this.#namespace } : {}),
        },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a bad port) is its cause.
      const { cause } = error as { cause?: { code?: string; message?: string } };
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      // The address, and fetch's reason, may hold VAULT_ADDR's credentials: never said.
      throw new ConfigError(
        redactUrls(
          `cannot reach Vault at VAULT_ADDR ${this.#address} (${why}): check VAULT_ADDR and that Vault is running`,
        ),
      );
    }
    if (response.status === 404 && secret) throw new ConfigError(`Vault secret ${secret} does not exist`);
    if (response.status === 403) {
      throw new ConfigError(
        `Vault answered 403 to ${path}${secret ? ` (secret ${secret})` : ''}: check VAULT_TOKEN (or VAULT_K8S_ROLE) and its policy`,
      );
    }
    if (!response.ok) {
      throw new ConfigError(`Vault answered ${response.status} to ${path}${secret ? ` (secret ${secret})` : ''}`);
    }
    return response.json();
  }
}

/**
 * docker-compose.yml as Debian's docker-compose reads it (no container engine runs here, so
 * the file is rendered with `docker-compose config`, and the env-check service's script is
 * run with the shell its image has): the placeholder PostgreSQL password of .env.example is
 * refused at `up` while CI's validation with that file still passes, and each container is
 * handed only the secrets it needs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-compose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Service {
  environment?: Record<string, string | null>;
  env_file?: unknown;
  entrypoint?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
}

/** CI's command, as .ci/run runs it; the shell's own variables left out so that the file decides. */
function compose(envFile: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('docker-compose', ['--env-file', envFile, '-f', 'docker-compose.yml', 'config', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BATON_ENV_FILE: envFile },
  });
}

async function rendered(envFile: string): Promise<Record<string, Service>> {
  const { stdout } = await compose(envFile);
  return (parse(stdout) as { services: Record<string, Service> }).services;
}

/** Runs a service's `sh -c` script as its container would ($$ is compose's escape for $). */
async function runScript(
  service: Service,
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  expect(service.entrypoint).toEqual(['/bin/sh', '-c']);
  const script = (service.command?.[0] ?? '').replace(/\$\$/g, '$');
  return run('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH, ...env } }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
  );
}

describe('docker-compose.yml', () => {
  it("passes CI's validation with .env.example", async () => {
    await expect(compose('.env.example', '--quiet')).resolves.toBeDefined();
  });

  it('refuses to start the database with the placeholder password of .env.example', async () => {
    const services = await rendered('.env.example');
    const check = services['env-check'];
    expect(check, 'an env-check service').toBeDefined();
    // PostgreSQL, and so Temporal and Baton after it, start only once the check has passed.
    expect(services.postgresql?.depends_on?.['env-check']).toEqual({
      condition: 'service_completed_successfully',
    });
    const placeholder = check?.environment?.POSTGRES_PASSWORD ?? '';
    expect(placeholder).toMatch(/^change-me/);
    const refused = await runScript(check as Service, { POSTGRES_PASSWORD: placeholder });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('POSTGRES_PASSWORD in .env is still the placeholder of .env.example');

    const short = await runScript(check as Service, { POSTGRES_PASSWORD: 'hunter2' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('shorter than 16 characters');
    const real = await runScript(check as Service, { POSTGRES_PASSWORD: 'q8Jf2Lm0xV7rT3sKp9Wc' });
    expect(real).toEqual({ code: 0, stderr: '' });
  });

  it('refuses an empty password when the configuration is read', async () => {
    const file = path.join(dir, 'empty.env');
    writeFileSync(file, 'POSTGRES_PASSWORD=\n');
    const refused = await compose(file, '--quiet').then(
      () => undefined,
      (err: { stderr?: string }) => err,
    );
    expect(refused?.stderr).toContain('set POSTGRES_PASSWORD in .env');
  });

  it('hands each container only the secrets it needs', async () => {
    const secrets = {
      POSTGRES_PASSWORD: 'pg-secret-0123456789',
      TOKEN_ALICE: 'alice-secret',
      TOKEN_BOB: 'bob-secret',
      TOKEN_CAROL: 'carol-secret',
      TOKEN_DAVE: 'dave-secret',
      WEBHOOK_TOKEN: 'webhook-secret',
      BATON_METRICS_TOKEN: 'metrics-secret',
      SLACK_BOT_TOKEN: 'slack-bot-secret',
      SLACK_SIGNING_SECRET: 'slack-signing-secret',
      BATON_EMAIL_LINK_SECRET: 'link-secret',
      BATON_PAYLOAD_KEYS: 'k1:payload-key-secret',
      SMTP_PASSWORD: 'smtp-secret',
    };
    const file = path.join(dir, 'filled.env');
    writeFileSync(
      file,
      Object.entries(secrets)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    const services = await rendered(file);
    const needs: Record<string, (keyof typeof secrets)[]> = {
      'env-check': ['POSTGRES_PASSWORD'],
      postgresql: ['POSTGRES_PASSWORD'],
      'temporal-schema': ['POSTGRES_PASSWORD'],
      temporal: ['POSTGRES_PASSWORD'],
      'temporal-setup': [],
      'temporal-ui': [],
      mailpit: [],
      worker: ['SLACK_BOT_TOKEN', 'BATON_EMAIL_LINK_SECRET', 'BATON_PAYLOAD_KEYS', 'SMTP_PASSWORD'],
      api: [
        'TOKEN_ALICE',
        'TOKEN_BOB',
        'TOKEN_CAROL',
        'TOKEN_DAVE',
        'WEBHOOK_TOKEN',
        'BATON_METRICS_TOKEN',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'BATON_EMAIL_LINK_SECRET',
        'BATON_PAYLOAD_KEYS',
        'SMTP_PASSWORD',
      ],
    };
    expect(Object.keys(services).sort()).toEqual(Object.keys(needs).sort());
    for (const [name, service] of Object.entries(services)) {
      const text = JSON.stringify(service);
      const held = (Object.keys(secrets) as (keyof typeof secrets)[]).filter((k) =>
        text.includes(secrets[k]),
      );
      expect(held.sort(), name).toEqual([...(needs[name] ?? [])].sort());
      // Nothing reaches a container wholesale.
      expect(service.env_file, name).toBeUndefined();
    }
    expect(services.api?.environment?.TOKEN_ALICE).toBe('alice-secret');
    expect(services.worker?.environment?.BATON_PAYLOAD_KEYS).toBe('k1:payload-key-secret');
  });
});

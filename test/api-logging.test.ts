import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { loadSecrets } from '../config/secrets';
import { TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { freePort } from './support/ports';

/** The API's own log, as JSON lines, and what it answers when something breaks inside. */
const lines: string[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const closed = await freePort();
  const config = testConfig((c) => {
    c.temporal = { address: `127.0.0.1:${closed}` };
    c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
  });
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  app = await buildApp({
    config,
    secrets: loadSecrets(config, TOKEN_ENV),
    temporal: createTemporalClient(config, loadSecrets(config, TOKEN_ENV)),
    logger: { level: 'info', stream },
  });
  app.get('/test-only/boom', async () => {
    throw new Error('database password is hunter2');
  });
});
afterAll(async () => {
  await app?.close();
});

describe('the API log', () => {
  it('logs every request with its id and never a token', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/incidents',
      headers: { authorization: `Bearer ${TOKENS.alice}` },
    });
    expect(response.statusCode).toBe(503);
    const webhook = await app.inject({
      method: 'POST',
      url: '/webhooks/alertmanager',
      headers: { authorization: 'Bearer wrong-secret-token' },
      payload: {},
    });
    expect(webhook.statusCode).toBe(401);

    const entries = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    const incoming = entries.filter((e) => e.msg === 'incoming request');
    expect(incoming.length).toBeGreaterThanOrEqual(2);
    for (const entry of incoming) expect(entry.reqId).toMatch(/\S/);
    const all = lines.join('\n');
    expect(all).not.toContain(TOKENS.alice);
    expect(all).not.toContain('wrong-secret-token');
  });

  it('answers a failure inside with a bare 500 and the request id, keeping details in the log', async () => {
    const response = await app.inject({ method: 'GET', url: '/test-only/boom' });
    expect(response.statusCode).toBe(500);
    const body = response.json<{ error: string; requestId: string }>();
    expect(body.error).toBe('internal error');
    expect(response.body).not.toContain('hunter2');
    expect(lines.some((line) => line.includes('hunter2') && line.includes(body.requestId))).toBe(true);
  });
});

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
  // A failure whose message carries the address it was about, as a fetch error does.
  app.get('/test-only/boom-at', async (request) => {
    throw new Error(`could not read ${request.url}`);
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

describe('URLs in the API log', () => {
  type Entry = { msg?: string; req?: { url?: string }; err?: { message?: string; stack?: string } };
  const entries = (): Entry[] => lines.map((line) => JSON.parse(line) as Entry);

  it('masks query parameters named like secrets in request lines, not-found lines and error logs', async () => {
    const secret = 'query-secret-5f1a9c';
    const healthz = await app.inject({ method: 'GET', url: `/healthz?token=${secret}1&status=open` });
    expect(healthz.statusCode).toBe(200);
    const list = await app.inject({
      method: 'GET',
      url: `/api/v1/incidents?api_key=${secret}2`,
      headers: { authorization: `Bearer ${TOKENS.alice}` },
    });
    expect(list.statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/nowhere?sig=${secret}3` })).statusCode).toBe(404);
    const failed = await app.inject({
      method: 'GET',
      url: `/test-only/boom-at?Signature=${secret}4&password=${secret}5`,
    });
    expect(failed.statusCode).toBe(500);

    expect(lines.join('\n')).not.toContain(secret);
    // The lines are there, with the rest of their address.
    const urls = entries().map((e) => e.req?.url);
    expect(urls).toContain('/healthz?token=[masked]&status=open');
    expect(urls).toContain('/api/v1/incidents?api_key=[masked]');
    expect(entries().map((e) => e.msg)).toContain('Route GET:/nowhere?sig=[masked] not found');
    const errors = entries().filter((e) => e.msg === 'request failed');
    expect(errors.map((e) => e.err?.message)).toContain(
      'could not read /test-only/boom-at?Signature=[masked]&password=[masked]',
    );
  });
});

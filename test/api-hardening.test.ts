/**
 * What the API costs a caller who is not allowed in: /readyz answers from a cached check,
 * an address (or a credential) that keeps failing authentication has its wrong credentials
 * refused, while right ones from the same address are served; every refusal is logged
 * without the token, and start-up refuses the published demo tokens off loopback. Also `npm run token`, run as a user runs it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { buildApp, SERVER_TIMEOUTS } from '../api/app';
import { AuthFailures } from '../api/auth';
import { healthRoutes } from '../api/routes/health';
import { loadConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { TOKEN_ENV, TOKENS } from './support/app';
import { testConfig, testConfigInput } from './support/config';
import { freePort } from './support/ports';
import { signedHeaders } from './support/slack-requests';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-hardening-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const INBOUND_TOKEN = 'inbound-route-token-5d2c';
const METRICS_TOKEN = 'metrics-token-90ab';
const SLACK_SIGNING_SECRET = 'hardening-signing-secret';
const ENV = {
  ...TOKEN_ENV,
  EMAIL_LINK_SECRET: 'hardening-link-secret',
  EMAIL_INBOUND_TOKEN: INBOUND_TOKEN,
  SLACK_BOT_TOKEN: 'xoxb-hardening',
  SLACK_SIGNING_SECRET,
};

/** A Temporal client that only answers describeNamespace, counting the calls. */
function countingTemporal(): { client: Client; calls: () => number } {
  let calls = 0;
  const client = {
    options: { namespace: 'default' },
    connection: {
      withDeadline: <T>(_deadline: number, fn: () => Promise<T>): Promise<T> => fn(),
    },
    workflowService: {
      describeNamespace: async () => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {};
      },
    },
  };
  return { client: client as unknown as Client, calls: () => calls };
}

/**
 * The test team plus a team alice is not on (a declaration for it is a 403 before Temporal
 * is asked anything), the webhook's token, the email inbound route and Slack.
 */
function hardeningConfig(): BatonConfig {
  return testConfig((c) => {
    c.dataDir = path.join(tmp, 'data');
    c.api = { publicUrl: 'http://baton.test', alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    c.teams.push({
      id: 'search',
      slack: { channel: '#search', level3Channel: '#search-l3' },
      escalation: { steps: [{ notify: ['bob'], ackTimeout: '1h' }] },
      level3: [{ notify: ['carol'], acceptTimeout: '1h' }],
    });
    c.notifications = {
      slack: { tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' },
      email: {
        from: 'Baton <baton@example.com>',
        smtp: { host: '127.0.0.1', port: 9, secure: false },
        linkSecretEnv: 'EMAIL_LINK_SECRET',
        replyDomain: 'reply.example.com',
        inboundRoute: { tokenEnv: 'EMAIL_INBOUND_TOKEN' },
      },
    };
  });
}

async function hardenedApp(
  options: { authFailures?: AuthFailures; lines?: string[] } = {},
): Promise<{ app: FastifyInstance; temporalCalls: () => number }> {
  const config = hardeningConfig();
  const temporal = countingTemporal();
  const lines = options.lines;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines?.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const app = await buildApp({
    config,
    secrets: loadSecrets(config, ENV),
    temporal: temporal.client,
    logger: { level: 'info', stream },
    metrics: { enabled: true, tokenSha256: createHash('sha256').update(METRICS_TOKEN).digest('hex') },
    ...(options.authFailures ? { authFailures: options.authFailures } : {}),
  });
  return { app, temporalCalls: temporal.calls };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A declaration whose body is refused (400) after the token was checked: served, without Temporal. */
function declareAs(app: FastifyInstance, token: string, remoteAddress = '192.0.2.10') {
  return app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: bearer(token),
    payload: { title: '' },
    remoteAddress,
  });
}

describe('/readyz', () => {
  let app: FastifyInstance;
  let temporalCalls: () => number;
  beforeAll(async () => {
    ({ app, temporalCalls } = await hardenedApp());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('asks Temporal once for concurrent requests and answers from that check for the next few seconds', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/readyz' })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    expect(answers[0]?.json()).toEqual({ status: 'ready', temporal: 'reachable' });
    expect(temporalCalls()).toBe(1);
    for (let i = 0; i < 5; i += 1) {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    }
    expect(temporalCalls()).toBe(1);
  });

  it('asks again once the answer is 5 s old, and a failed check answers 503 until the next one', async () => {
    let now = 1_000_000;
    let calls = 0;
    let reachable = true;
    const health = Fastify();
    await health.register(
      healthRoutes({} as Client, {
        now: () => now,
        reachable: async () => {
          calls += 1;
          return reachable;
        },
      }),
    );
    const status = async () => (await health.inject({ method: 'GET', url: '/readyz' })).statusCode;
    try {
      expect(await status()).toBe(200);
      reachable = false;
      now += 4_999;
      expect(await status()).toBe(200);
      expect(calls).toBe(1);
      now += 1;
      expect(await status()).toBe(503);
      expect(calls).toBe(2);
      reachable = true;
      now += 1_000;
      expect(await status()).toBe(503);
      now += 5_000;
      expect(await status()).toBe(200);
      expect(calls).toBe(3);
    } finally {
      await health.close();
    }
  });
});

describe('timeouts', () => {
  it('sets request, connection and keep-alive timeouts on the server', async () => {
    const { app } = await hardenedApp();
    try {
      expect(app.server.requestTimeout).toBe(SERVER_TIMEOUTS.requestTimeout);
      expect(app.server.timeout).toBe(SERVER_TIMEOUTS.connectionTimeout);
      expect(app.server.keepAliveTimeout).toBe(SERVER_TIMEOUTS.keepAliveTimeout);
      // A request must arrive within the time the largest webhook body needs, and a
      // connection outlive the longest answer (a step waits up to 15 s for its workflow).
      expect(SERVER_TIMEOUTS.requestTimeout).toBeGreaterThan(0);
      expect(SERVER_TIMEOUTS.connectionTimeout).toBeGreaterThan(15_000);
    } finally {
      await app.close();
    }
  });
});

describe('repeated failed authentications', () => {
  let now = 0;
  let app: FastifyInstance;
  const lines: string[] = [];
  beforeAll(async () => {
    ({ app } = await hardenedApp({
      lines,
      authFailures: new AuthFailures({
        perAddress: 10,
        perCredential: 1_000,
        windowMs: 60_000,
        now: () => now,
      }),
    }));
  });
  afterAll(async () => {
    await app?.close();
  });

  const webhookAs = (token: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/webhooks/alertmanager',
      headers: bearer(token),
      payload: {},
      remoteAddress,
    });
  const inboundAs = (token: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/email/inbound',
      headers: { ...bearer(token), 'content-type': 'message/rfc822' },
      payload: 'Subject: hi\r\n\r\nhello',
      remoteAddress,
    });
  const metricsAs = (token: string, remoteAddress: string) =>
    app.inject({ method: 'GET', url: '/metrics', headers: bearer(token), remoteAddress });

  it('serve every valid credential from an address past the limit, and refuse its wrong ones: 429, 503 on the webhook', async () => {
    now = 1_000_000;
    const address = '192.0.2.10';
    for (let i = 0; i < 9; i += 1) {
      expect((await declareAs(app, `guess-${i}`, address)).statusCode).toBe(401);
    }
    // The webhook counts toward the same address: the tenth failure.
    expect((await webhookAs('not-the-webhook-token', address)).statusCode).toBe(401);

    now += 10_000;
    const refused = await declareAs(app, 'guess-10', address);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('50');
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect(refused.json()).toMatchObject({ code: 'TooManyRequests' });
    // Alertmanager drops a 4xx: a wrong webhook credential is told to retry.
    const refusedWebhook = await webhookAs('still-not-the-webhook-token', address);
    expect(refusedWebhook.statusCode).toBe(503);
    expect(refusedWebhook.headers['retry-after']).toBe('50');
    expect((await inboundAs('not-the-inbound-token', address)).statusCode).toBe(429);
    expect((await metricsAs('not-the-metrics-token', address)).statusCode).toBe(429);

    // Alice behind the same NAT is served (400: her empty declaration, read after her token).
    expect((await declareAs(app, TOKENS.alice, address)).statusCode).toBe(400);
    // So is Alertmanager (400: the body is read once the credential passed), and the provider.
    expect((await webhookAs(TOKENS.webhook, address)).statusCode).toBe(400);
    const inbound = await inboundAs(INBOUND_TOKEN, address);
    expect(inbound.statusCode).toBe(200);
    expect(inbound.json()).toMatchObject({ outcome: 'rejected' });
    expect((await metricsAs(METRICS_TOKEN, address)).statusCode).toBe(200);

    // Another address is not affected, and neither are routes without credentials.
    expect((await declareAs(app, 'guess', '192.0.2.11')).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: address })).statusCode).toBe(
      200,
    );
    // The refusals to the webhook are counted among its answers, as 503.
    const scrape = (await metricsAs(METRICS_TOKEN, '192.0.2.99')).body;
    expect(scrape).toMatch(/^baton_webhook_answers_total\{status="503"\} 1$/m);

    // The log says once that the limit was reached, and has a line for each counted failure only.
    const logged = lines
      .map((l) => JSON.parse(l) as { msg: string; ip?: string; key?: string })
      .filter((e) => e.ip === address);
    expect(logged.filter((e) => e.msg === 'authentication failed')).toHaveLength(10);
    expect(logged.filter((e) => e.key === address).map((e) => e.msg)).toEqual([
      `10 failed authentications from ${address}: more invalid credentials are refused (429, 503 on the webhook) until the window ends; valid ones are served`,
    ]);

    // Once the minute is over, wrong credentials are answered 401 again.
    now += 50_000;
    expect((await declareAs(app, 'guess-11', address)).statusCode).toBe(401);
  });

  it('count an IPv6 network as one caller: addresses of one /64 share the limit', async () => {
    now = 1_500_000;
    for (let i = 1; i <= 10; i += 1) {
      expect((await declareAs(app, `v6-guess-${i}`, `2001:db8:7:1::${i.toString(16)}`)).statusCode).toBe(401);
    }
    // Any address of the same /64, however written, is refused for a wrong token and served for a right one.
    expect((await declareAs(app, 'v6-guess', '2001:db8:7:1:ffff:ffff:ffff:fffe')).statusCode).toBe(429);
    expect((await declareAs(app, 'v6-guess', '2001:0db8:0007:0001:0:0:0:1')).statusCode).toBe(429);
    expect((await webhookAs('v6-guess', '2001:db8:7:1::abcd')).statusCode).toBe(503);
    expect((await declareAs(app, TOKENS.alice, '2001:db8:7:1::77')).statusCode).toBe(400);
    // The next /64 is another caller.
    expect((await declareAs(app, 'v6-guess', '2001:db8:7:2::1')).statusCode).toBe(401);
    // An IPv4 address in IPv6 form is that IPv4 address.
    for (let i = 0; i < 10; i += 1) {
      expect((await declareAs(app, `mapped-${i}`, '::ffff:198.51.100.20')).statusCode).toBe(401);
    }
    expect((await declareAs(app, 'mapped', '198.51.100.20')).statusCode).toBe(429);
  });

  it('count failures of a credential from every address together, and still serve it when it is right', async () => {
    const { app: shared } = await hardenedApp({
      authFailures: new AuthFailures({ perAddress: 10, perCredential: 5, windowMs: 60_000, now: () => 0 }),
    });
    try {
      const webhook = (token: string, remoteAddress: string) =>
        shared.inject({
          method: 'POST',
          url: '/webhooks/alertmanager',
          headers: bearer(token),
          payload: {},
          remoteAddress,
        });
      // Five addresses guess the webhook's token once each.
      for (let i = 1; i <= 5; i += 1) {
        expect((await webhook(`spread-guess-${i}`, `203.0.113.${i}`)).statusCode).toBe(401);
      }
      const sixth = await webhook('spread-guess-6', '203.0.113.6');
      expect(sixth.statusCode).toBe(503);
      expect(sixth.json<{ error: string }>().error).toContain('of this credential');
      // Alertmanager's own token is served from anywhere, and other credentials count their own.
      expect((await webhook(TOKENS.webhook, '203.0.113.7')).statusCode).toBe(400);
      expect((await webhook(TOKENS.webhook, '203.0.113.1')).statusCode).toBe(400);
      const api = await shared.inject({
        method: 'GET',
        url: '/api/v1/incidents',
        headers: bearer('spread-guess-7'),
        remoteAddress: '203.0.113.8',
      });
      expect(api.statusCode).toBe(401);
    } finally {
      await shared.close();
    }
  });

  it('behind a proxy named in api.trustProxy, count each forwarded caller, and trust no one else to say who calls', async () => {
    const config = hardeningConfig();
    config.api.trustProxy = ['127.0.0.1', '::1'];
    const proxied = await buildApp({
      config,
      secrets: loadSecrets(config, ENV),
      temporal: countingTemporal().client,
      authFailures: new AuthFailures({ perAddress: 2, perCredential: 1_000, windowMs: 60_000, now: () => 0 }),
    });
    try {
      const via = (from: string, forwarded: string, token = 'guess') =>
        proxied.inject({
          method: 'POST',
          url: '/api/v1/incidents',
          headers: { ...bearer(token), 'x-forwarded-for': forwarded },
          payload: { title: '' },
          remoteAddress: from,
        });
      expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(401);
      expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(401);
      expect((await via('127.0.0.1', '203.0.113.1')).statusCode).toBe(429);
      expect((await via('127.0.0.1', '203.0.113.1', TOKENS.alice)).statusCode).toBe(400);
      // Another caller behind the same proxy is not refused.
      expect((await via('127.0.0.1', '203.0.113.2')).statusCode).toBe(401);
      // Forwarded IPv6 callers are counted by their /64.
      expect((await via('::1', '2001:db8:9:9::1')).statusCode).toBe(401);
      expect((await via('::1', '2001:db8:9:9::2')).statusCode).toBe(401);
      expect((await via('::1', '2001:db8:9:9:1:2:3:4')).statusCode).toBe(429);
      // A client that is not the proxy cannot choose the address it is counted under.
      expect((await via('198.51.100.7', '203.0.113.3')).statusCode).toBe(401);
      expect((await via('198.51.100.7', '203.0.113.4')).statusCode).toBe(401);
      expect((await via('198.51.100.7', '203.0.113.5')).statusCode).toBe(429);
    } finally {
      await proxied.close();
    }
  });

  it('never count successful requests, nor refusals of a known caller (403)', async () => {
    now = 2_000_000;
    const address = '192.0.2.20';
    for (let i = 0; i < 30; i += 1) {
      expect((await declareAs(app, TOKENS.bob, address)).statusCode).toBe(400);
    }
    for (let i = 0; i < 15; i += 1) {
      const refused = await app.inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: bearer(TOKENS.alice),
        payload: { title: 'Search down', service: 'search', team: 'search' },
        remoteAddress: address,
      });
      expect(refused.statusCode).toBe(403);
    }
    expect((await declareAs(app, 'guess', address)).statusCode).toBe(401);
  });

  it('stop concurrent guesses over the network at the limit too', async () => {
    now = 3_000_000;
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${address}/api/v1/incidents`, {
          method: 'POST',
          headers: { ...bearer(`concurrent-guess-${i}`), 'content-type': 'application/json' },
          body: '{}',
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  });
});

describe('the log of refusals', () => {
  const lines: string[] = [];
  let app: FastifyInstance;
  beforeAll(async () => {
    ({ app } = await hardenedApp({ lines }));
  });
  afterAll(async () => {
    await app?.close();
  });

  type Entry = {
    level: number;
    msg: string;
    status?: number;
    route?: string;
    method?: string;
    ip?: string;
    reason?: string;
    responder?: string;
  };
  const refusals = (): Entry[] =>
    lines.map((l) => JSON.parse(l) as Entry).filter((e) => e.status === 401 || e.status === 403);

  it('logs every 401 and 403 at warn with the route and the address, never the token', async () => {
    const wrongApiToken = 'wrong-api-token-1f0e';
    const wrongWebhookToken = 'wrong-webhook-token-77aa';
    const wrongInboundToken = 'wrong-inbound-token-c3d9';
    const remoteAddress = '198.51.100.7';
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/api/v1/incidents',
          headers: bearer(wrongApiToken),
          remoteAddress,
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/webhooks/alertmanager',
          headers: bearer(wrongWebhookToken),
          payload: {},
          remoteAddress,
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/email/inbound',
          headers: { ...bearer(wrongInboundToken), 'content-type': 'message/rfc822' },
          payload: 'Subject: x\r\n\r\ny',
          remoteAddress,
        })
      ).statusCode,
    ).toBe(401);
    const body = 'command=/incident&text=list&user_id=U01ALICE';
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/slack/commands',
          headers: {
            ...signedHeaders(body, { secret: 'not-the-signing-secret' }),
            'content-type': 'application/x-www-form-urlencoded',
          },
          payload: body,
          remoteAddress,
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/v1/incidents',
          headers: bearer(TOKENS.alice),
          payload: { title: 'Search down', service: 'search', team: 'search' },
          remoteAddress,
        })
      ).statusCode,
    ).toBe(403);

    const logged = refusals();
    expect(
      logged.map(({ level, status, method, route, ip, msg }) => ({ level, status, method, route, ip, msg })),
    ).toEqual([
      {
        level: 40,
        status: 401,
        method: 'GET',
        route: '/api/v1/incidents',
        ip: remoteAddress,
        msg: 'authentication failed',
      },
      {
        level: 40,
        status: 401,
        method: 'POST',
        route: '/webhooks/alertmanager',
        ip: remoteAddress,
        msg: 'authentication failed',
      },
      {
        level: 40,
        status: 401,
        method: 'POST',
        route: '/email/inbound',
        ip: remoteAddress,
        msg: 'authentication failed',
      },
      {
        level: 40,
        status: 401,
        method: 'POST',
        route: '/slack/commands',
        ip: remoteAddress,
        msg: 'authentication failed',
      },
      {
        level: 40,
        status: 403,
        method: 'POST',
        route: '/api/v1/incidents',
        ip: remoteAddress,
        msg: 'refused: not permitted',
      },
    ]);
    expect(logged[0]?.reason).toBe('the token is not valid');
    expect(logged[3]?.reason).toMatch(/Slack signature is not valid/);
    expect(logged[4]?.responder).toBe('alice');
    expect(logged[4]?.reason).toContain('alice is not on team search');

    const all = lines.join('\n');
    for (const secret of [
      wrongApiToken,
      wrongWebhookToken,
      wrongInboundToken,
      TOKENS.alice,
      SLACK_SIGNING_SECRET,
      INBOUND_TOKEN,
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain('authorization');
  });
});

// ---------------------------------------------------------------------------------------------
// Scripts, run as a user runs them

function run(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  until?: RegExp,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['BATON_CONFIG', 'HOST', 'PORT', 'TEMPORAL_ADDRESS', 'NODE_OPTIONS', 'LOG_LEVEL']) {
    delete childEnv[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish in time.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 60_000);
    const check = (): void => {
      if (until && until.test(stdout + stderr)) child.kill('SIGTERM');
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('npm run token', () => {
  function fields(stdout: string): Map<string, string> {
    return new Map(
      stdout
        .split('\n')
        .map((line) => /^(token|sha256|tokenSha256|export \w+|passwordSha256): ?=?(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  }

  it('prints a new random token, its SHA-256 and the lines to paste for a responder', async () => {
    const first = await run('scripts/token.ts', ['alice']);
    expect(first.code).toBe(0);
    const out = fields(first.stdout);
    const token = out.get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out.get('sha256')).toBe(sha256(token));
    expect(out.get('tokenSha256')).toBe(sha256(token));
    expect(first.stdout).toContain('under alice in config/baton.yaml');
    expect(first.stdout).toContain(`export TOKEN_ALICE=${token}\n`);

    const second = await run('scripts/token.ts', ['alice']);
    expect(fields(second.stdout).get('token')).not.toBe(token);
  });

  it("names the configuration's own variable for a responder with tokenEnv", async () => {
    const input = testConfigInput();
    const file = path.join(tmp, 'token-env.yaml');
    writeFileSync(file, stringifyYaml(input));
    const result = await run('scripts/token.ts', ['dave'], { BATON_CONFIG: file });
    expect(result.code).toBe(0);
    const token = fields(result.stdout).get('token')!;
    expect(result.stdout).toContain(`names TOKEN_DAVE for dave`);
    expect(result.stdout).toContain(`export TOKEN_DAVE=${token}\n`);
  });

  it('refuses a responder the configuration does not have, naming those it has', async () => {
    const result = await run('scripts/token.ts', ['mallory']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'config/baton.yaml has no responder "mallory"; its responders are alice, bob, carol, dave.',
    );
  });

  it('makes the webhook token, with the lines for Baton and for alertmanager.yml', async () => {
    const result = await run('scripts/token.ts', ['--webhook']);
    expect(result.code).toBe(0);
    const out = fields(result.stdout);
    const token = out.get('token')!;
    expect(out.get('sha256')).toBe(sha256(token));
    expect(result.stdout).toContain(
      `under api.alertmanager.bearer in config/baton.yaml:\ntokenSha256: ${sha256(token)}\n`,
    );
    expect(result.stdout).toContain(`authorization: { type: Bearer, credentials: ${token} }`);
  });

  it('documents its output in --help, and refuses no argument', async () => {
    const help = await run('scripts/token.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('npm run token -- <responder>');
    expect(help.stdout).toContain('npm run token -- --webhook');
    expect(help.stdout).toContain('token: <');
    expect(help.stdout).toContain('sha256: <');
    expect(help.stdout).toContain('tokenSha256: <digest>');
    const none = await run('scripts/token.ts', []);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name one responder, or --webhook');
  });
});

describe('buildApp with the demo configuration', () => {
  it('refuses the published demo tokens off loopback, whoever starts it, and takes them on loopback', async () => {
    const temporal = countingTemporal().client;
    const off = loadConfig({ BATON_CONFIG: path.join(ROOT, 'config', 'baton.yaml'), HOST: '0.0.0.0' }).config;
    await expect(buildApp({ config: off, secrets: loadSecrets(off, {}), temporal })).rejects.toThrow(
      /not a loopback address.*\n {2}- alice's API token/,
    );
    const on = loadConfig({ BATON_CONFIG: path.join(ROOT, 'config', 'baton.yaml') }).config;
    const app = await buildApp({ config: on, secrets: loadSecrets(on, {}), temporal });
    try {
      const served = await app.inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: bearer('manager-demo-token'),
        payload: {},
      });
      expect(served.statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});

describe('npm run start:api with the demo configuration', () => {
  it('refuses to listen on every interface with the published demo tokens, saying which and what to do', async () => {
    const result = await run('api/server.ts', [], { HOST: '0.0.0.0', PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the API would listen on 0.0.0.0, which is not a loopback address');
    expect(result.stderr).toContain("dave's API token (responders[3].tokenSha256)");
    expect(result.stderr).toContain('npm run token -- <responder>');
  });

  it('says "demo credentials" when it runs with them on loopback', async () => {
    const result = await run(
      'api/server.ts',
      [],
      {
        PORT: String(await freePort()),
        TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
        LOG_LEVEL: 'warn',
      },
      /WARNING: demo credentials in use/,
    );
    expect(result.stderr).toContain('WARNING: demo credentials in use');
    expect(result.stderr).toContain('npm run token');
  });

  it('refuses two responders whose variables hold the same token, naming both and never the token', async () => {
    const input = testConfigInput();
    input.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    const file = path.join(tmp, 'shared-token.yaml');
    writeFileSync(file, stringifyYaml(input));
    const shared = 'shared-by-mistake-4b1d';
    const result = await run('api/server.ts', [], {
      BATON_CONFIG: file,
      PORT: String(await freePort()),
      TOKEN_ALICE: shared,
      TOKEN_BOB: 'bob-own-token',
      TOKEN_CAROL: 'carol-own-token',
      TOKEN_DAVE: shared,
      // Strong enough for start-up (32 random bytes' worth), which checks it before the tokens.
      WEBHOOK_TOKEN: 'webhook-own-token-3f9d2a7c1e8b4f6a0d5c9e2b7a1f4c8d',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("alice's API token (TOKEN_ALICE) and dave's API token (TOKEN_DAVE)");
    expect(result.stderr).not.toContain(shared);
  });
});

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { formatDuration, parseDuration } from '../config/duration';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, loadConfigFile, parseConfig } from '../config/load';
import { policyFor, routeFor, teamById } from '../config/policy';
import { configSchema, type BatonConfig, type BatonConfigInput } from '../config/schema';
import { smtpRequiresTls, smtpWarnings } from '../config/smtp';
import {
  isLoopbackHost,
  loadSecrets,
  patternedSecret,
  requireNoDemoCredentials,
  requireSecrets,
  requireWebhookAuth,
  secretBytes,
  sha256Hex,
} from '../config/secrets';
import { testConfig, testConfigInput } from './support/config';

const DEMO_FILE = path.resolve('config', 'baton.yaml');
const DEMO_TOKENS = {
  alice: 'l2-demo-token',
  bob: 'l2b-demo-token',
  carol: 'l3-demo-token',
  dave: 'manager-demo-token',
} as const;
const WEBHOOK_TOKEN = 'alertmanager-demo-token';

/** The demo file as data, to change one thing at a time. */
type Data = BatonConfigInput;
function demoData(): Data {
  return parseYaml(readFileSync(DEMO_FILE, 'utf8')) as Data;
}
/** For keys the schema does not know: the point of the test is that it refuses them. */
function loose(value: object): Record<string, unknown> {
  return value as Record<string, unknown>;
}
function demoConfig(): BatonConfig {
  return loadConfigFile(DEMO_FILE);
}

/** The ConfigError message for the demo data with one change. */
function problemsWith(change: (data: Data) => void): string {
  const data = demoData();
  change(data);
  try {
    parseConfig(data, 'baton.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-config-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

function writeTemp(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

describe('the demo configuration', () => {
  it('parses, with durations in milliseconds and defaults filled in', () => {
    const config = demoConfig();
    expect(config.dataDir).toBe('./data');
    expect(config.temporal).toEqual({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'baton-incidents',
      uiUrl: 'http://127.0.0.1:8233',
    });
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 3000 });
    expect(config.notifications).toEqual({});
    expect(config.responders.map((r) => [r.id, r.level])).toEqual([
      ['alice', 'L2'],
      ['bob', 'L2'],
      ['carol', 'L3'],
      ['dave', 'manager'],
    ]);
    const team = teamById(config, 'payments');
    expect(team.escalation.steps.map((s) => s.ackTimeout)).toEqual([300_000, 300_000, 600_000]);
    expect(team.escalation.repeat).toBe(2);
    expect(team.level3.map((s) => s.acceptTimeout)).toEqual([900_000, 900_000]);
    expect(config.severities.SEV4.stakeholderUpdateEvery).toBe(86_400_000);
    expect(config.followUps.trainingDue).toBe(14 * 86_400_000);
    expect(config.runbooks.HighLatency?.steps).toEqual(['check the last deploy', 'restart the pods']);
  });

  it('is what loadConfig reads by default, and uses no deprecated key', () => {
    const { config, file, warnings } = loadConfig({});
    expect(file).toBe(DEFAULT_CONFIG_PATH);
    expect(config).toEqual(demoConfig());
    expect(warnings).toEqual([]);
  });

  it('holds no token in plain text, only digests', () => {
    const values = JSON.stringify(demoData());
    for (const token of [...Object.values(DEMO_TOKENS), WEBHOOK_TOKEN]) {
      expect(values).not.toContain(token);
    }
    expect(values).toContain(sha256Hex(DEMO_TOKENS.alice));
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    [' 5m ', 300_000],
    ['0s', 0],
  ])('parses %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '5x',
    '',
    '   ',
    '1h 30m',
    '5',
    'm',
    '-5m',
    '5M',
    '1h30',
    '5 minutes',
    'h5',
    '1d1d',
    '10ms5s',
    '30m1h',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    [0, '0s'],
    [-5, '0s'],
    [1, '1ms'],
    [1_000, '1s'],
    [1_500, '1s500ms'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [172_800_000, '2d'],
    [604_800_000, '7d'],
    [90_061_001, '1d1h1m1s1ms'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through the notation', () => {
    for (const ms of [1, 999, 61_000, 3_723_004, 8 * 86_400_000 + 1]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('configuration errors name the field and the problem', () => {
  it('a duration that is not one', () => {
    const message = problemsWith((d) => {
      d.teams[0]!.escalation.steps[1]!.ackTimeout = '5 minutes';
    });
    expect(message).toBe(
      'baton.yaml is invalid:\n' +
        '  - teams[0].escalation.steps[1].ackTimeout: "5 minutes" is not a duration; write it like 30s, 5m, 1h30m or 2d',
    );
  });

  it('a zero duration', () => {
    expect(
      problemsWith((d) => {
        d.followUps.remindBefore = '0s';
      }),
    ).toContain('followUps.remindBefore: "0s" is not a duration');
  });

  it('every problem of the same kind at once', () => {
    const message = problemsWith((d) => {
      d.teams[0]!.escalation.steps[0]!.ackTimeout = '5x';
      d.severities.SEV2.assessWithin = 'soon';
    });
    expect(message).toContain('teams[0].escalation.steps[0].ackTimeout: "5x" is not a duration');
    expect(message).toContain('severities.SEV2.assessWithin: "soon" is not a duration');
  });

  it('an unknown responder in an escalation step', () => {
    expect(
      problemsWith((d) => {
        d.teams[0]!.escalation.steps[1]!.notify = ['bob', 'zed'];
      }),
    ).toContain('teams[0].escalation.steps[1].notify[1]: unknown responder "zed"');
  });

  it('an approver who is not a manager', () => {
    expect(
      problemsWith((d) => {
        d.teams[0]!.stakeholders!.external!.approvers = ['alice'];
      }),
    ).toContain('teams[0].stakeholders.external.approvers[0]: responder "alice" is L2; this needs manager');
  });

  it('a Level 2 responder on the Level 3 rota', () => {
    expect(
      problemsWith((d) => {
        d.teams[0]!.level3[0]!.notify = ['bob'];
      }),
    ).toContain('teams[0].level3[0].notify[0]: responder "bob" is L2; this needs L3 or manager');
  });

  it('a default route that is not last', () => {
    const message = problemsWith((d) => {
      d.routes = [d.routes[2]!, d.routes[0]!, d.routes[1]!];
    });
    expect(message).toContain('routes[0]: the default route must be the last one');
    expect(message).toContain('routes: end the routes with a default route');
  });

  it('no default route', () => {
    const message = problemsWith((d) => {
      d.routes = d.routes.slice(0, 2);
    });
    expect(message).toContain('  - routes: end the routes with a default route');
    expect(message).not.toContain('routes[');
  });

  it('a route to an unknown team', () => {
    expect(
      problemsWith((d) => {
        d.routes[0]!.team = 'search';
      }),
    ).toContain('routes[0].team: unknown team "search"');
  });

  it('an unknown top-level key', () => {
    expect(
      problemsWith((d) => {
        loose(d).colour = 'blue';
      }),
    ).toContain('(top level): Unrecognized key: "colour"');
  });

  it('a responder defined twice', () => {
    expect(
      problemsWith((d) => {
        d.responders.push({ ...d.responders[0]!, name: 'Another Alice' });
      }),
    ).toContain('responders[4].id: responder "alice" is defined twice');
  });

  it('tokenEnv and tokenSha256 both set', () => {
    expect(
      problemsWith((d) => {
        d.responders[0]!.tokenEnv = 'BATON_TOKEN_ALICE';
      }),
    ).toContain('responders[0]: give tokenEnv or tokenSha256, not both');
  });

  it('a token in plain text', () => {
    expect(
      problemsWith((d) => {
        loose(d.responders[1]!).token = DEMO_TOKENS.bob;
      }),
    ).toContain('responders[1]: Unrecognized key: "token"');
  });

  it('a webhook secret given neither way', () => {
    expect(
      problemsWith((d) => {
        d.api!.alertmanager = { bearer: {} };
      }),
    ).toContain('api.alertmanager: give exactly one of the environment variable or the SHA-256 digest');
  });

  it('no manager at all', () => {
    expect(
      problemsWith((d) => {
        d.responders[3]!.level = 'L3';
        d.teams[0]!.stakeholders!.external!.approvers = [];
      }),
    ).toContain('responders: at least one responder must be a manager');
  });
});

describe('loading the configuration file', () => {
  it('names the file when the YAML is broken', () => {
    const file = writeTemp('broken.yaml', 'teams: [\n  - id: payments\n');
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(`${file} is not valid YAML`);
  });

  it('names the file when it is missing', () => {
    const file = path.join(tmp, 'no-such-file.yaml');
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(`cannot read the configuration file ${file}`);
  });

  it('names the file and the field when the content is wrong', () => {
    const file = writeTemp('wrong.yaml', readFileSync(DEMO_FILE, 'utf8').replace('repeat: 2', 'repeat: 0'));
    let message = '';
    try {
      loadConfigFile(file);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message.startsWith(`${file} is invalid:\n  - teams[0].escalation.repeat: `)).toBe(true);
  });
});

describe('deprecated keys', () => {
  it('accepts a team email with a warning that says where the address belongs, and ignores it', () => {
    const data = demoData() as { teams: Record<string, unknown>[] };
    const [team] = data.teams;
    if (!team) throw new Error('the demo has a team');
    team.email = 'payments-oncall@example.com';
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'baton-config-')), 'baton.yaml');
    writeFileSync(file, stringifyYaml(data));
    const { config, warnings } = loadConfig({ BATON_CONFIG: file });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^teams\[0\]\.email is deprecated and ignored: .*stakeholders\.internal.*payments-oncall@example\.com/,
      ),
    ]);
    expect(JSON.stringify(policyFor(config, teamById(config, 'payments')))).not.toContain('payments-oncall');
  });
});

describe('Slack from the environment', () => {
  it('turns Slack on for a configuration without it once a bot token is set', () => {
    expect(loadConfig({}).config.notifications.slack).toBeUndefined();
    const { config } = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_API_URL: 'http://127.0.0.1:9999/api/',
    });
    expect(config.notifications.slack).toEqual({
      tokenEnv: 'SLACK_BOT_TOKEN',
      signingSecretEnv: 'SLACK_SIGNING_SECRET',
      apiUrl: 'http://127.0.0.1:9999/api/',
      liveMessages: true,
    });
    expect(loadSecrets(config, { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' })).toMatchObject({
      slackToken: 'xoxb-1',
      slackSigningSecret: 'secret',
    });
  });

  it('refuses a SLACK_API_URL that is not an http(s) URL, naming it', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'x', SLACK_API_URL: 'file:///etc/passwd' })).toThrow(
      /SLACK_API_URL must be an http\(s\) URL/,
    );
  });
});

describe('email from the environment', () => {
  it('turns email, links and the reply listener on for a configuration without an email section', () => {
    expect(loadConfig({}).config.notifications.email).toBeUndefined();
    const { config } = loadConfig({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: '2525',
      EMAIL_FROM: 'Baton <baton@example.test>',
      BATON_PUBLIC_URL: 'https://baton.example.test',
      BATON_EMAIL_LINK_SECRET: 'links',
      EMAIL_REPLY_DOMAIN: 'reply.example.test',
      EMAIL_INBOUND_PORT: '2526',
      EMAIL_INBOUND_AUTHENTICATION: 'token-and-sender',
    });
    expect(config.api.publicUrl).toBe('https://baton.example.test');
    expect(config.notifications.email).toEqual({
      from: 'Baton <baton@example.test>',
      smtp: { host: '127.0.0.1', port: 2525, secure: false },
      linkTtl: 86_400_000,
      linkSecretEnv: 'BATON_EMAIL_LINK_SECRET',
      replyDomain: 'reply.example.test',
      inbound: {
        host: '127.0.0.1',
        port: 2526,
        authentication: 'token-and-sender',
        maxMessageBytes: 1024 * 1024,
        maxConnections: 20,
      },
    });
    expect(loadSecrets(config, { BATON_EMAIL_LINK_SECRET: 'links' }).emailLinkSecret).toBe('links');
  });

  it('refuses settings that cannot work together, naming what is missing', () => {
    expect(() => loadConfig({ SMTP_HOST: 'h', BATON_EMAIL_LINK_SECRET: 's' })).toThrow(
      /BATON_EMAIL_LINK_SECRET needs BATON_PUBLIC_URL/,
    );
    expect(() => loadConfig({ SMTP_HOST: 'h', EMAIL_INBOUND_PORT: '25' })).toThrow(
      /EMAIL_INBOUND_PORT needs BATON_EMAIL_LINK_SECRET and EMAIL_REPLY_DOMAIN/,
    );
    expect(() => loadConfig({ SMTP_HOST: 'h', SMTP_PORT: 'x' })).toThrow(/SMTP_PORT must be a port number/);
    expect(() => loadConfig({ BATON_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/BATON_PUBLIC_URL must be/);
  });

  it('requires STARTTLS unless secure: true, and warns at start when requireTLS: false turns it off', () => {
    const smtpOf = (smtp: Record<string, unknown>) => {
      const input = testConfigInput();
      input.notifications = { email: { from: 'b@example.test', smtp: { host: 'h', port: 587, ...smtp } } };
      const config = parseConfig(input);
      const settings = config.notifications.email?.smtp;
      if (!settings) throw new Error('the configuration has email');
      return { config, settings };
    };
    expect(smtpRequiresTls(smtpOf({}).settings)).toBe(true);
    expect(smtpRequiresTls(smtpOf({ requireTLS: true }).settings)).toBe(true);
    expect(smtpRequiresTls(smtpOf({ secure: true, port: 465 }).settings)).toBe(false);
    expect(smtpWarnings(smtpOf({}).config)).toEqual([]);
    const off = smtpOf({ requireTLS: false, user: 'baton', passwordEnv: 'SMTP_PASSWORD' });
    expect(smtpRequiresTls(off.settings)).toBe(false);
    expect(smtpWarnings(off.config)).toEqual([
      expect.stringMatching(
        /^notifications\.email\.smtp\.requireTLS is false: Baton sends to h:587 in clear .* reads the SMTP password and every email/,
      ),
    ]);

    // From the environment: required unless SMTP_REQUIRE_TLS=false, which loadConfig warns of.
    const required = loadConfig({ SMTP_HOST: 'smtp.example.test', SMTP_PORT: '587' });
    expect(required.config.notifications.email?.smtp).toEqual({
      host: 'smtp.example.test',
      port: 587,
      secure: false,
    });
    expect(required.warnings.filter((w) => w.includes('requireTLS'))).toEqual([]);
    const plain = loadConfig({ SMTP_HOST: 'smtp.example.test', SMTP_PORT: '587', SMTP_REQUIRE_TLS: 'false' });
    expect(plain.config.notifications.email?.smtp.requireTLS).toBe(false);
    expect(plain.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^notifications\.email\.smtp\.requireTLS is false/)]),
    );
  });

  it('refuses a file whose replies have no signing secret or reply domain', () => {
    const config = testConfigInput();
    config.notifications = {
      email: { from: 'b@example.test', smtp: { host: 'h', port: 25 }, inbound: { port: 0 } },
    };
    const result = configSchema.safeParse(config);
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^notifications\.email\.linkSecretEnv: replies need linkSecretEnv/),
        expect.stringMatching(/^notifications\.email\.replyDomain: replies need replyDomain/),
      ]),
    );
  });
});

describe('loadConfig and the environment', () => {
  const file = (): string => writeTemp('env.yaml', readFileSync(DEMO_FILE, 'utf8'));

  it('reads the file BATON_CONFIG names', () => {
    const other = writeTemp(
      'other.yaml',
      readFileSync(DEMO_FILE, 'utf8').replace('taskQueue: baton-incidents', 'taskQueue: elsewhere'),
    );
    const loaded = loadConfig({ BATON_CONFIG: other });
    expect(loaded.file).toBe(other);
    expect(loaded.config.temporal.taskQueue).toBe('elsewhere');
  });

  it('stops on a BATON_CONFIG that does not exist', () => {
    const missing = path.join(tmp, 'missing.yaml');
    expect(() => loadConfig({ BATON_CONFIG: missing })).toThrow(missing);
  });

  it('takes PORT, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and BATON_DATA_DIR over the file', () => {
    const { config } = loadConfig({
      BATON_CONFIG: file(),
      PORT: '4321',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'incidents',
      BATON_DATA_DIR: '/var/lib/baton',
    });
    expect(config.api.port).toBe(4321);
    expect(config.temporal.address).toBe('temporal.internal:7233');
    expect(config.temporal.namespace).toBe('incidents');
    expect(config.dataDir).toBe('/var/lib/baton');
  });

  it('takes HOST for the API and treats an empty PORT as unset', () => {
    const { config } = loadConfig({ BATON_CONFIG: file(), HOST: '0.0.0.0', PORT: '' });
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.api.port).toBe(3000);
  });

  it('keeps the file values without overrides', () => {
    const { config } = loadConfig({ BATON_CONFIG: file() });
    expect(config.api.port).toBe(3000);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
  });

  it.each(['abc', '70000', '3.5', '-1'])('rejects PORT=%s', (port) => {
    expect(() => loadConfig({ BATON_CONFIG: file(), PORT: port })).toThrow(ConfigError);
    expect(() => loadConfig({ BATON_CONFIG: file(), PORT: port })).toThrow(
      `PORT must be a port number, not "${port}"`,
    );
  });

  it('reads the environment object it is given, not process.env', () => {
    vi.stubEnv('PORT', '5555');
    vi.stubEnv('TEMPORAL_ADDRESS', 'wrong:1');
    const { config } = loadConfig({ BATON_CONFIG: file() });
    expect(config.api.port).toBe(3000);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
  });
});

describe('secrets', () => {
  it('maps each demo token to its responder', () => {
    const secrets = loadSecrets(demoConfig(), {});
    for (const [id, token] of Object.entries(DEMO_TOKENS)) {
      expect(secrets.responderForToken(token)?.id).toBe(id);
    }
    expect(secrets.missing).toEqual([]);
  });

  it.each(['wrong-token', '', 'L2-DEMO-TOKEN', `${DEMO_TOKENS.alice} `, sha256Hex(DEMO_TOKENS.alice)])(
    'knows nobody by the token %j',
    (token) => {
      expect(loadSecrets(demoConfig(), {}).responderForToken(token)).toBeUndefined();
    },
  );

  it('reads tokenEnv from the environment object passed in', () => {
    vi.stubEnv('TOKEN_BOB', 'bob-from-process-env');
    const secrets = loadSecrets(testConfig(), { TOKEN_ALICE: 'alice-secret', TOKEN_DAVE: 'dave-secret' });
    expect(secrets.responderForToken('alice-secret')?.id).toBe('alice');
    expect(secrets.responderForToken('dave-secret')?.id).toBe('dave');
    expect(secrets.responderForToken('bob-from-process-env')).toBeUndefined();
    expect(secrets.missing).toEqual(['bob (TOKEN_BOB is not set)', 'carol (TOKEN_CAROL is not set)']);
  });

  it('checks the demo webhook bearer token', () => {
    const secrets = loadSecrets(demoConfig(), {});
    expect(secrets.webhookAuthConfigured).toBe(true);
    expect(secrets.checkWebhook({ bearer: WEBHOOK_TOKEN })).toBe(true);
    expect(secrets.checkWebhook({ bearer: 'not-the-token' })).toBe(false);
    expect(secrets.checkWebhook({ bearer: DEMO_TOKENS.alice })).toBe(false);
    expect(secrets.checkWebhook({})).toBe(false);
    expect(secrets.checkWebhook({ basic: { username: 'alertmanager', password: WEBHOOK_TOKEN } })).toBe(
      false,
    );
  });

  it('checks webhook basic auth with the password from the environment', () => {
    const config = testConfig((c) => {
      c.api = { alertmanager: { basic: { username: 'am', passwordEnv: 'AM_PASSWORD' } } };
    });
    const secrets = loadSecrets(config, { AM_PASSWORD: 'pa55' });
    expect(secrets.checkWebhook({ basic: { username: 'am', password: 'pa55' } })).toBe(true);
    expect(secrets.checkWebhook({ basic: { username: 'am', password: 'wrong' } })).toBe(false);
    expect(secrets.checkWebhook({ basic: { username: 'someone', password: 'pa55' } })).toBe(false);
    expect(secrets.checkWebhook({ bearer: 'pa55' })).toBe(false);
    expect(secrets.checkWebhook({})).toBe(false);
  });

  it('checks webhook basic auth against a digest', () => {
    const config = testConfig((c) => {
      c.api = { alertmanager: { basic: { username: 'am', passwordSha256: sha256Hex('hashed-pw') } } };
    });
    const secrets = loadSecrets(config, {});
    expect(secrets.checkWebhook({ basic: { username: 'am', password: 'hashed-pw' } })).toBe(true);
    expect(secrets.checkWebhook({ basic: { username: 'am', password: 'other' } })).toBe(false);
  });

  it('refuses every webhook call when the configured secret is not set', () => {
    const config = testConfig((c) => {
      c.api = { alertmanager: { bearer: { tokenEnv: 'AM_TOKEN' } } };
    });
    const secrets = loadSecrets(config, {});
    expect(secrets.checkWebhook({ bearer: '' })).toBe(false);
    expect(secrets.checkWebhook({ bearer: 'anything' })).toBe(false);
    expect(secrets.missing).toContain('alertmanager webhook (AM_TOKEN is not set)');
  });

  it('accepts no webhook call when no webhook auth is configured (only allowUnauthenticated opens it)', () => {
    const secrets = loadSecrets(testConfig(), {});
    expect(secrets.webhookAuthConfigured).toBe(false);
    expect(secrets.checkWebhook({})).toBe(false);
    expect(secrets.checkWebhook({ bearer: 'anything' })).toBe(false);
  });

  it('reads channel secrets from the environment object', () => {
    const input: (c: BatonConfigInput) => void = (c) => {
      c.notifications = {
        slack: { tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' },
        email: { from: 'baton@example.com', smtp: { host: 'localhost', port: 25, passwordEnv: 'SMTP_PW' } },
      };
      c.temporal = { apiKeyEnv: 'TEMPORAL_API_KEY' };
    };
    const secrets = loadSecrets(testConfig(input), {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'sign',
      SMTP_PW: 'smtp',
      TEMPORAL_API_KEY: 'key',
    });
    expect(secrets).toMatchObject({
      slackToken: 'xoxb-1',
      slackSigningSecret: 'sign',
      smtpPassword: 'smtp',
      temporalApiKey: 'key',
    });
    const none = loadSecrets(testConfig(input), {});
    expect([none.slackToken, none.slackSigningSecret, none.smtpPassword, none.temporalApiKey]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('start-up refuses missing secrets and an open webhook nobody asked for', () => {
  const withChannels = (c: BatonConfigInput): void => {
    c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    c.notifications = {
      slack: { tokenEnv: 'SLACK_BOT_TOKEN' },
      email: {
        from: 'baton@example.com',
        smtp: { host: 'localhost', port: 25, user: 'b', passwordEnv: 'SMTP_PW' },
      },
    };
  };
  const everything = {
    // The secrets a stranger could guess at are checked for strength too.
    WEBHOOK_TOKEN: sha256Hex('webhook'),
    TOKEN_ALICE: 'a',
    TOKEN_BOB: 'b',
    TOKEN_CAROL: 'c',
    TOKEN_DAVE: 'd',
    SLACK_BOT_TOKEN: 's',
    SMTP_PW: 'p',
  };
  const messageOf = (run: () => void): string => {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    return 'nothing thrown';
  };

  it('passes when every variable the starting parts need is set', () => {
    const config = testConfig(withChannels);
    expect(() => requireSecrets(config, ['api', 'worker'], everything)).not.toThrow();
  });

  it('names each unset variable the API needs, and who needs it', () => {
    const config = testConfig(withChannels);
    const message = messageOf(() =>
      requireSecrets(config, ['api'], { ...everything, WEBHOOK_TOKEN: '', TOKEN_BOB: undefined }),
    );
    expect(message).toContain('Baton cannot start');
    expect(message).toContain(
      "WEBHOOK_TOKEN: needed by the API, to check Alertmanager's webhook token (api.alertmanager.bearer.tokenEnv)",
    );
    expect(message).toContain("TOKEN_BOB: needed by the API, for bob's API token (responders[1].tokenEnv)");
    expect(message).not.toContain('TOKEN_ALICE');
  });

  it('asks the worker only for the channel secrets, and only when the channels are configured', () => {
    const config = testConfig(withChannels);
    const message = messageOf(() => requireSecrets(config, ['worker'], {}));
    expect(message).toContain('SLACK_BOT_TOKEN: needed by the worker, to send Slack messages');
    expect(message).toContain('SMTP_PW: needed by the worker, to log in to the SMTP server');
    expect(message).not.toMatch(/WEBHOOK_TOKEN|TOKEN_ALICE/);
    // The worker tests' configuration: no channels, so nothing to ask for.
    expect(() => requireSecrets(testConfig(), ['worker'], {})).not.toThrow();
  });

  it('asks the API for the SMTP password when it takes email replies (it answers them)', () => {
    const replies = (inbound: 'listener' | 'route' | 'neither') =>
      testConfig((c) => {
        withChannels(c);
        c.api = { ...c.api, publicUrl: 'https://baton.example.com' };
        const email = c.notifications?.email;
        if (!email) throw new Error('withChannels configures email');
        email.linkSecretEnv = 'LINK_SECRET';
        email.replyDomain = 'reply.example.com';
        if (inbound === 'listener') email.inbound = { port: 2525 };
        if (inbound === 'route') email.inboundRoute = { tokenEnv: 'INBOUND_TOKEN' };
      });
    const env = {
      ...everything,
      LINK_SECRET: sha256Hex('link'),
      INBOUND_TOKEN: sha256Hex('inbound'),
      SMTP_PW: undefined,
    };
    for (const inbound of ['listener', 'route'] as const) {
      expect(
        messageOf(() => requireSecrets(replies(inbound), ['api'], env)),
        inbound,
      ).toContain(
        'SMTP_PW: needed by the API, to log in to the SMTP server (it answers email replies) ' +
          '(notifications.email.smtp.passwordEnv)',
      );
    }
    expect(() => requireSecrets(replies('neither'), ['api'], env)).not.toThrow();
    expect(() => requireSecrets(replies('listener'), ['api'], { ...env, SMTP_PW: 'p' })).not.toThrow();
  });

  it('needs the webhook credentials or allowUnauthenticated: true, not neither and not both', () => {
    expect(messageOf(() => requireWebhookAuth(testConfig(), 'baton.yaml'))).toMatch(
      /^the Alertmanager webhook has no credentials: set api\.alertmanager in baton\.yaml .*or api\.allowUnauthenticated: true/,
    );
    expect(() =>
      requireWebhookAuth(testConfig((c) => (c.api = { allowUnauthenticated: true }))),
    ).not.toThrow();
    expect(() => requireWebhookAuth(demoConfig())).not.toThrow();
    expect(() =>
      testConfig((c) => {
        c.api = { allowUnauthenticated: true, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
      }),
    ).toThrow(/api\.allowUnauthenticated: the webhook cannot both check credentials/);
  });
});

describe('start-up refuses secrets too weak to stand being guessed at', () => {
  const config = testConfig((c) => {
    c.api = {
      publicUrl: 'https://baton.example.com',
      alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } },
    };
    c.notifications = {
      slack: { tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' },
      email: {
        from: 'baton@example.com',
        smtp: { host: 'localhost', port: 25 },
        linkSecretEnv: 'LINK_SECRET',
        replyDomain: 'reply.example.com',
        inboundRoute: { tokenEnv: 'INBOUND_TOKEN' },
      },
    };
  });
  /** What npm run token makes: 32 random bytes, base64url. */
  const made = () => randomBytes(32).toString('base64url');
  const strong = () => ({
    TOKEN_ALICE: 'a',
    TOKEN_BOB: 'b',
    TOKEN_CAROL: 'c',
    TOKEN_DAVE: 'd',
    SLACK_BOT_TOKEN: 'xoxb-1',
    WEBHOOK_TOKEN: made(),
    // What Slack issues: 32 hexadecimal characters.
    SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
    LINK_SECRET: made(),
    INBOUND_TOKEN: randomBytes(32).toString('hex'),
  });
  const refusal = (env: NodeJS.ProcessEnv, users: ('api' | 'worker')[] = ['api', 'worker']): string => {
    try {
      requireSecrets(config, users, env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    return 'nothing thrown';
  };

  it('starts with what npm run token makes and the signing secret Slack issues', () => {
    for (let i = 0; i < 20; i += 1) expect(refusal(strong())).toBe('nothing thrown');
  });

  it('names each secret that is too short, and what makes a good one, never its value', () => {
    const env = {
      ...strong(),
      WEBHOOK_TOKEN: 'webhook-own-token',
      SLACK_SIGNING_SECRET: randomBytes(15).toString('hex'),
      LINK_SECRET: randomBytes(31).toString('base64url'),
      INBOUND_TOKEN: randomBytes(31).toString('hex'),
    };
    const message = refusal(env);
    expect(message).toContain(
      'Baton cannot start: secrets in the environment are too weak to stand being guessed at',
    );
    expect(message).toContain(
      '  - WEBHOOK_TOKEN (api.alertmanager.bearer.tokenEnv) needs 32 random bytes (64 hex or 43 base64url characters, not a pattern): npm run token -- --webhook',
    );
    expect(message).toContain(
      '  - SLACK_SIGNING_SECRET (notifications.slack.signingSecretEnv) needs 16 random bytes (32 hex or 22 base64url characters, not a pattern)',
    );
    expect(message).toContain('  - LINK_SECRET (notifications.email.linkSecretEnv) needs 32 random bytes');
    expect(message).toContain('npm run token -- --secret');
    expect(message).toContain(
      '  - INBOUND_TOKEN (notifications.email.inboundRoute.tokenEnv) needs 32 random bytes',
    );
    expect(message).toContain('npm run token -- --inbound');
    for (const value of Object.values(env)) if (value.length > 1) expect(message).not.toContain(value);
  });

  it('refuses long secrets plainly made by hand: one character, a piece repeated, a steady run', () => {
    const byHand = [
      'x'.repeat(64),
      'abc'.repeat(22),
      '0123456789abcdef'.repeat(4),
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab',
    ];
    for (const value of byHand) {
      expect(patternedSecret(value), value).toBe(true);
      expect(refusal({ ...strong(), LINK_SECRET: value }), value).toContain(
        'LINK_SECRET (notifications.email.linkSecretEnv)',
      );
    }
    // Slack's own example signing secret is shaped like a real one.
    expect(patternedSecret('8f742231b10e8888abcd99yyyzzz85a5')).toBe(false);
  });

  it('measures hex by its digits and anything else as base64', () => {
    expect(secretBytes('a'.repeat(64))).toBe(32);
    expect(secretBytes('f'.repeat(63))).toBe(31);
    expect(secretBytes('A_'.repeat(21) + 'B')).toBe(32);
    expect(secretBytes('correct horse battery staple')).toBe(21);
  });

  it('checks only the secrets of the parts that start, and leaves the demo webhook token to the loopback rule', () => {
    const weakForTheApi = {
      ...strong(),
      WEBHOOK_TOKEN: 'short',
      SLACK_SIGNING_SECRET: 'short',
      INBOUND_TOKEN: 'short',
    };
    expect(refusal(weakForTheApi, ['worker'])).toBe('nothing thrown');
    expect(refusal({ ...strong(), LINK_SECRET: 'short' }, ['worker'])).toContain('LINK_SECRET');
    expect(refusal({ ...strong(), WEBHOOK_TOKEN: WEBHOOK_TOKEN }, ['api'])).toBe('nothing thrown');
  });

  it('has npm run token make a link secret and an inbound route token that pass', () => {
    const run = (args: string[]): string =>
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], {
        encoding: 'utf8',
        env: { ...process.env, BATON_CONFIG: '' },
      });
    const secret = run(['--secret']);
    const value = /^secret: ([A-Za-z0-9_-]+)$/m.exec(secret)?.[1] ?? '';
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secret).toContain(`export BATON_EMAIL_LINK_SECRET=${value}`);
    const inbound = run(['--inbound']);
    const token = /^token: ([A-Za-z0-9_-]+)$/m.exec(inbound)?.[1] ?? '';
    expect(inbound).toContain(`tokenSha256: ${sha256Hex(token)}`);
    expect(inbound).toContain(`export BATON_EMAIL_INBOUND_TOKEN=${token}`);
    expect(refusal({ ...strong(), LINK_SECRET: value, INBOUND_TOKEN: token })).toBe('nothing thrown');
  });
});

describe('routing and policy', () => {
  it('routes the demo alerts: first match wins, then the default', () => {
    const config = demoConfig();
    const route = (labels: Record<string, string>) => {
      const r = routeFor(config, labels);
      return [r.team.id, r.severity];
    };
    expect(route({ service: 'payments', severity: 'critical' })).toEqual(['payments', 'SEV1']);
    expect(route({ service: 'payments', severity: 'warning' })).toEqual(['payments', 'SEV3']);
    expect(route({ service: 'payments' })).toEqual(['payments', 'SEV3']);
    expect(route({ service: 'search', severity: 'critical' })).toEqual(['payments', 'SEV4']);
    expect(route({})).toEqual(['payments', 'SEV4']);
  });

  it('takes the first matching route even when a later one is more specific', () => {
    const config = testConfig((c) => {
      const payments = c.teams[0]!;
      c.teams.push({ ...payments, id: 'search', name: 'Search' });
      c.routes = [
        { match: { service: 'payments' }, team: 'payments', severity: 'SEV3' },
        { match: { service: 'payments', severity: 'critical' }, team: 'search', severity: 'SEV1' },
        { match: { service: 'search' }, team: 'search', severity: 'SEV2' },
        { default: true, team: 'search', severity: 'SEV4' },
      ];
    });
    expect(routeFor(config, { service: 'payments', severity: 'critical' })).toMatchObject({
      team: { id: 'payments' },
      severity: 'SEV3',
    });
    expect(routeFor(config, { service: 'search' })).toMatchObject({
      team: { id: 'search' },
      severity: 'SEV2',
    });
    expect(routeFor(config, { service: 'other' })).toMatchObject({
      team: { id: 'search' },
      severity: 'SEV4',
    });
  });

  it('builds the policy snapshot an incident carries', () => {
    const config = demoConfig();
    const policy = policyFor(config, teamById(config, 'payments'));
    expect(policy.team).toEqual({
      id: 'payments',
      name: 'Payments',
      channel: '#payments-incidents',
      level3Channel: '#payments-l3',
    });
    expect(policy.escalation).toEqual({
      steps: [
        { notify: ['schedule:payments-l2'], ackTimeoutMs: 300_000 },
        { notify: ['bob'], ackTimeoutMs: 300_000 },
        { notify: ['dave'], ackTimeoutMs: 600_000 },
      ],
      repeat: 2,
    });
    expect(policy.level3).toEqual([
      { notify: ['carol'], acceptTimeoutMs: 900_000 },
      { notify: ['dave'], acceptTimeoutMs: 900_000 },
    ]);
    expect(policy.managers).toEqual(['dave']);
    // Contact details travel with the incident; token digests do not.
    expect(policy.responders.alice).toEqual({
      id: 'alice',
      name: 'Alice Ng',
      level: 'L2',
      email: 'alice@example.com',
      slackUserId: 'U01ALICE',
    });
    expect(JSON.stringify(policy)).not.toContain(sha256Hex(DEMO_TOKENS.alice));
    expect(policy.severities.SEV1).toEqual({
      assessWithinMs: 600_000,
      stakeholderUpdateEveryMs: 1_800_000,
      nudgeEscalationAfterMs: 900_000,
    });
    expect(policy.followUps).toEqual({
      reportDueMs: 2 * 86_400_000,
      lessonsDueMs: 5 * 86_400_000,
      trainingDueMs: 14 * 86_400_000,
      remindBeforeMs: 86_400_000,
      overdueNotify: ['dave'],
      bySeverity: {
        SEV1: ['report', 'lessons', 'training'],
        SEV2: ['report', 'lessons', 'training'],
        SEV3: ['report'],
        SEV4: [],
      },
      improvementDueMs: 30 * 86_400_000,
      trainees: ['alice', 'bob', 'carol', 'dave'],
    });
    expect(policy.autoResolve).toBe('unacknowledged-only');
    expect(policy.stakeholders.external).toEqual({
      email: ['status-subscribers@example.com'],
      approvers: ['dave'],
    });
    expect(Object.keys(policy.runbooks)).toEqual(['HighLatency', 'PaymentsErrorRate']);
  });

  it('names a team without a name by its id', () => {
    const config = testConfig((c) => {
      delete c.teams[0]!.name;
    });
    expect(policyFor(config, teamById(config, 'payments')).team.name).toBe('payments');
    expect(() => teamById(config, 'nope')).toThrow('unknown team "nope"');
  });

  it("pages only the managers a team's policy names, or every manager when it names none", () => {
    const config = testConfig((c) => {
      c.responders.push({ id: 'fiona', name: 'Fiona Lee', level: 'manager', email: 'fiona@example.com' });
      c.teams.push({
        id: 'search',
        slack: { channel: '#search', level3Channel: '#search-l3' },
        escalation: { steps: [{ notify: ['bob'], ackTimeout: '5m' }] },
        level3: [{ notify: ['carol'], acceptTimeout: '5m' }],
      });
      c.followUps.overdueNotify = ['bob'];
    });
    expect(policyFor(config, teamById(config, 'payments')).managers).toEqual(['dave']);
    expect(policyFor(config, teamById(config, 'search')).managers).toEqual(['dave', 'fiona']);
  });

  it('refuses a duration longer than a year', () => {
    expect(() =>
      testConfig((c) => {
        c.followUps.trainingDue = '400d';
      }),
    ).toThrow('followUps.trainingDue: "400d" is longer than a year');
  });
});

describe('one token, one credential', () => {
  const errorOf = (run: () => unknown): string => {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('refuses two responders with the same tokenSha256, naming both', () => {
    const message = problemsWith((data) => {
      data.responders[3]!.tokenSha256 = sha256Hex(DEMO_TOKENS.alice);
    });
    expect(message).toContain(
      'responders[3].tokenSha256: responder dave has the same token as responder alice (responders[0].tokenSha256)',
    );
  });

  it("refuses a webhook digest that is a responder's, and an inbound route digest that is the webhook's", () => {
    expect(
      problemsWith((data) => {
        data.api!.alertmanager = { bearer: { tokenSha256: sha256Hex(DEMO_TOKENS.carol) } };
      }),
    ).toContain(
      'api.alertmanager.bearer.tokenSha256: the Alertmanager webhook has the same token as responder carol (responders[2].tokenSha256)',
    );
    const message = errorOf(() =>
      testConfig((c) => {
        c.api = {
          publicUrl: 'https://baton.example.com',
          alertmanager: { basic: { username: 'am', passwordSha256: sha256Hex('pw') } },
        };
        c.notifications = {
          email: {
            from: 'baton@example.com',
            smtp: { host: 'localhost', port: 25 },
            linkSecretEnv: 'LINK_SECRET',
            replyDomain: 'reply.example.com',
            inboundRoute: { tokenSha256: sha256Hex('pw') },
          },
        };
      }),
    );
    expect(message).toContain(
      'notifications.email.inboundRoute.tokenSha256: the email inbound route has the same token as the Alertmanager webhook (api.alertmanager.basic.passwordSha256)',
    );
  });

  it('refuses two tokenEnv variables that hold the same token when the secrets load, naming the responders and variables but never the token', () => {
    const token = 'copied-by-mistake-7f3a';
    const message = errorOf(() =>
      loadSecrets(testConfig(), { TOKEN_ALICE: token, TOKEN_BOB: 'b', TOKEN_CAROL: 'c', TOKEN_DAVE: token }),
    );
    expect(message).toContain("alice's API token (TOKEN_ALICE) and dave's API token (TOKEN_DAVE)");
    expect(message).toContain('npm run token');
    expect(message).not.toContain(token);
  });

  it("refuses a tokenEnv value whose digest is another responder's tokenSha256, and a webhook token that is a responder's", () => {
    const config = testConfig((c) => {
      c.responders[0]!.tokenEnv = undefined;
      c.responders[0]!.tokenSha256 = sha256Hex('alice-secret');
      c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    });
    const env = {
      TOKEN_BOB: 'bob-secret',
      TOKEN_CAROL: 'carol-secret',
      TOKEN_DAVE: 'alice-secret',
      WEBHOOK_TOKEN: 'webhook-secret',
    };
    expect(errorOf(() => loadSecrets(config, env))).toContain(
      "alice's API token (responders[0].tokenSha256) and dave's API token (TOKEN_DAVE)",
    );
    const webhook = errorOf(() =>
      loadSecrets(config, { ...env, TOKEN_DAVE: 'dave-secret', WEBHOOK_TOKEN: 'carol-secret' }),
    );
    expect(webhook).toContain(
      "carol's API token (TOKEN_CAROL) and the Alertmanager webhook token (WEBHOOK_TOKEN)",
    );
    expect(webhook).not.toContain('carol-secret');
    // Distinct tokens load.
    const secrets = loadSecrets(config, { ...env, TOKEN_DAVE: 'dave-secret' });
    expect(secrets.responderForToken('dave-secret')?.id).toBe('dave');
    expect(secrets.responderForToken('alice-secret')?.id).toBe('alice');
  });
});

describe('the published demo tokens', () => {
  const demoOn = (host: string) => {
    const { config } = loadConfig({ BATON_CONFIG: DEMO_FILE, HOST: host });
    return { config, secrets: loadSecrets(config, {}) };
  };

  it('are found in the demo configuration: every responder and the webhook', () => {
    expect(demoOn('127.0.0.1').secrets.demoCredentials).toEqual([
      "alice's API token (responders[0].tokenSha256)",
      "bob's API token (responders[1].tokenSha256)",
      "carol's API token (responders[2].tokenSha256)",
      "dave's API token (responders[3].tokenSha256)",
      'the Alertmanager webhook token (api.alertmanager.bearer.tokenSha256)',
    ]);
    // Their digests are the published tokens' own.
    const data = demoData();
    expect(data.responders.map((r) => r.tokenSha256)).toEqual(
      Object.values(DEMO_TOKENS).map((t) => sha256Hex(t)),
    );
    expect(data.api?.alertmanager).toEqual({ bearer: { tokenSha256: sha256Hex(WEBHOOK_TOKEN) } });
  });

  it('are accepted when the API listens on a loopback address', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
      '::ffff:127.0.0.1',
    ]) {
      const { config, secrets } = demoOn(host);
      expect(() => requireNoDemoCredentials(config, secrets), host).not.toThrow();
    }
  });

  it('are refused on any other host, naming each demo credential and how to make new ones', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'baton.example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
      const { config, secrets } = demoOn(host);
      let message = '';
      try {
        requireNoDemoCredentials(config, secrets, DEMO_FILE);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message, host).toContain(`the API would listen on ${host}, which is not a loopback address`);
      for (const id of ['alice', 'bob', 'carol', 'dave']) expect(message).toContain(`${id}'s API token`);
      expect(message).toContain('the Alertmanager webhook token (api.alertmanager.bearer.tokenSha256)');
      expect(message).toContain('npm run token -- <responder>');
      expect(message).toContain('npm run token -- --webhook');
    }
  });

  it('are found in the environment too: a tokenEnv set to a demo token is one', () => {
    const config = testConfig((c) => {
      c.api = { host: '0.0.0.0' };
    });
    const secrets = loadSecrets(config, {
      TOKEN_ALICE: 'a',
      TOKEN_BOB: 'b',
      TOKEN_CAROL: 'c',
      TOKEN_DAVE: DEMO_TOKENS.dave,
    });
    expect(secrets.demoCredentials).toEqual(["dave's API token (TOKEN_DAVE)"]);
    expect(() => requireNoDemoCredentials(config, secrets)).toThrow(/dave's API token \(TOKEN_DAVE\)/);
    // Real tokens on any host are fine.
    const real = loadSecrets(config, { TOKEN_ALICE: 'a', TOKEN_BOB: 'b', TOKEN_CAROL: 'c', TOKEN_DAVE: 'd' });
    expect(() => requireNoDemoCredentials(config, real)).not.toThrow();
  });
});

describe('the worker section', () => {
  it('bounds the incidents a worker keeps in memory: 250 by default, a positive whole number when set', () => {
    expect(testConfig().worker.maxCachedIncidents).toBe(250);
    expect(testConfig((c) => (c.worker = { maxCachedIncidents: 40 })).worker.maxCachedIncidents).toBe(40);
    const zero = testConfigInput();
    zero.worker = { maxCachedIncidents: 0 };
    const result = configSchema.safeParse(zero);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['worker', 'maxCachedIncidents']);
  });
});

describe('diagnostics credentials stay out of URLs (issue #21)', () => {
  const PASSWORD = 'prom-pass-9e1d';

  it('refuses a data-source URL with a user and password, naming the field and never the password', () => {
    const file = writeTemp(
      'credentials-in-urls.yaml',
      `${readFileSync(DEMO_FILE, 'utf8')}\n${stringifyYaml({
        diagnostics: {
          prometheus: {
            url: `http://baton:${PASSWORD}@prometheus:9090`,
            allowedServers: ['http://prometheus:9090', `https://baton:${PASSWORD}@thanos:10902`],
          },
          loki: { url: `http://baton:${PASSWORD}@loki:3100` },
          elasticsearch: {
            url: `https://elastic:${PASSWORD}@es:9200`,
            index: 'logs-*',
            fields: { job: 'service.name' },
          },
        },
      })}`,
    );
    let message = '';
    try {
      loadConfigFile(file);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    const refusal =
      'remove the user name and password from the URL (it is stored in every incident); ' +
      'set auth: { basic: { username, passwordEnv } } or auth: { bearer: { tokenEnv } } instead';
    expect(message.split('\n').slice(1)).toEqual([
      `  - diagnostics.prometheus.url: ${refusal}`,
      `  - diagnostics.prometheus.allowedServers[1]: ${refusal}`,
      `  - diagnostics.loki.url: ${refusal}`,
      `  - diagnostics.elasticsearch.url: ${refusal}`,
    ]);
    expect(message).not.toContain(PASSWORD);
  });

  it('refuses a user name alone, and a query string that could carry a key', () => {
    const message = problemsWith((d) => {
      d.diagnostics = {
        prometheus: { url: 'http://baton@prometheus:9090' },
        loki: { url: 'http://loki:3100/?api_key=abc' },
      };
    });
    expect(message).toContain('diagnostics.prometheus.url: remove the user name and password from the URL');
    expect(message).toContain(
      "diagnostics.loki.url: write the server's base URL, without a query or fragment",
    );
    expect(message).not.toContain('api_key=abc');
  });

  it('refuses an auth block that holds a secret itself, or an allowedNetworks entry that is no range', () => {
    const message = problemsWith((d) => {
      d.diagnostics = {
        prometheus: {
          auth: loose({ basic: { username: 'baton', password: PASSWORD } }) as never,
          allowedNetworks: ['10.0.0.0/33', 'prometheus.internal'],
        },
      };
    });
    expect(message).toContain('diagnostics.prometheus.auth');
    expect(message).toContain(
      'diagnostics.prometheus.allowedNetworks[0]: write an IP address or a CIDR range (10.0.0.0/8, fd00::/8)',
    );
    expect(message).toContain(
      'diagnostics.prometheus.allowedNetworks[1]: write an IP address or a CIDR range',
    );
    expect(message).not.toContain(PASSWORD);
  });

  it("reads each source's password or token from the environment, for the worker only", () => {
    const config = testConfig((c) => {
      c.diagnostics = {
        prometheus: {
          url: 'http://prometheus:9090',
          auth: { basic: { username: 'baton', passwordEnv: 'PROM_PW' } },
        },
        loki: { url: 'http://loki:3100', auth: { bearer: { tokenEnv: 'LOKI_TOKEN' } } },
      };
    });
    expect(loadSecrets(config, { PROM_PW: PASSWORD, LOKI_TOKEN: 'loki-token' }).diagnostics).toEqual({
      prometheus: { kind: 'basic', username: 'baton', password: PASSWORD },
      loki: { kind: 'bearer', token: 'loki-token' },
    });
    expect(loadSecrets(config, {}).diagnostics).toEqual({});

    let message = '';
    try {
      requireSecrets(config, ['worker'], { PROM_PW: PASSWORD });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(
      'LOKI_TOKEN: needed by the worker, to log in to loki for diagnostics (diagnostics.loki.auth.bearer.tokenEnv)',
    );
    expect(message).not.toContain('PROM_PW');
    const apiOnly = { TOKEN_ALICE: 'a', TOKEN_BOB: 'b', TOKEN_CAROL: 'c', TOKEN_DAVE: 'd' };
    expect(() => requireSecrets(config, ['api'], apiOnly)).not.toThrow();
  });
});

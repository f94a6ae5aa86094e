import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { DiagnosticsCredentials, DiagnosticsSource, SourceAuth } from './diagnostics';
import { ConfigError } from './load';
import { parsePayloadKeys, type PayloadKey } from './payload-codec';
import type { BatonConfig, ResponderConfig } from './schema';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks presented secrets against the configuration. Tokens are compared by digest so a
 * configuration file never needs a secret in plain text, and so the comparison takes the
 * same time whatever the token.
 */
export interface Secrets {
  /** The responder an API token belongs to, if any. */
  responderForToken(token: string): ResponderConfig | undefined;
  /**
   * Whether the Alertmanager webhook credentials are right; false when none are configured
   * (only the route, told api.allowUnauthenticated, lets requests through without them).
   */
  checkWebhook(auth: { bearer?: string; basic?: { username: string; password: string } }): boolean;
  webhookAuthConfigured: boolean;
  slackToken?: string;
  slackSigningSecret?: string;
  /** The Teams bot's client secret (notifications.teams.appPasswordEnv). */
  teamsAppPassword?: string;
  smtpPassword?: string;
  /** Signs and checks email action links and reply addresses (notifications.email.linkSecretEnv). */
  emailLinkSecret?: string;
  /** Whether a bearer token is the one of POST /email/inbound; false when none is configured. */
  checkEmailInbound(bearer: string | undefined): boolean;
  temporalApiKey?: string;
  /** What the worker logs in to diagnostics sources with (`diagnostics.<source>.auth`). */
  diagnostics: DiagnosticsCredentials;
  /**
   * The keys that encrypt Temporal payloads (temporal.encryption.keysEnv), newest first;
   * undefined when encryption is off.
   */
  payloadKeys?: PayloadKey[];
  /**
   * Responders (and the webhook) whose variable is named but unset. Start-up refuses them
   * (requireSecrets); tests that build parts with an empty environment see them here.
   */
  missing: string[];
  /**
   * The configured credentials that are Baton's published demo tokens, each as who it
   * belongs to and where it is set ("alice's API token (responders[0].tokenSha256)").
   * requireNoDemoCredentials accepts them only on a loopback address.
   */
  demoCredentials: string[];
}

/**
 * SHA-256 digests of the tokens the README publishes for the demo (config/baton.yaml): alice,
 * bob, carol, dave and the Alertmanager webhook. Anyone can present them, so they are
 * accepted only where nobody else can reach the API.
 */
const DEMO_TOKEN_DIGESTS = new Set([
  'f3542f15bedbdf0584cc5aae72a6cf4f25616b28aeb950c8032a8ce911f7eb58',
  '8056461ddcec28453ab51ebfbb3ceda6eb8182fd85f1a1b9e76322418de5d254',
  '606fc7ca519200dd0c5a0c40e7e18f1bd11c18241472b55b072ea62564d2a014',
  '26250bc2b0c1ddc064767093f9f88d995b18f58a3ef14da2ab0b851af75f8427',
  'b57ac3a70782d3849f7fd210a28b7021ba5f185576b3498ddee5d1bdbaaa0d56',
]);

/** A credential the API checks: whose it is, where it is set, and the digest of its token. */
interface Credential {
  /** "alice's API token", "the Alertmanager webhook token". */
  who: string;
  /** The configuration field holding its digest, or the environment variable holding it. */
  where: string;
  digest: string;
}

/**
 * Two credentials with one token would let either holder act as the other (a copy-paste
 * mistake turning Alice's token into Dave's, a manager's): start-up stops, naming both and
 * where they are set, never the token.
 */
function refuseSharedTokens(credentials: Credential[]): void {
  const clashes: string[] = [];
  credentials.forEach((credential, index) => {
    const earlier = credentials.slice(0, index).find((c) => c.digest === credential.digest);
    if (earlier) {
      clashes.push(`  - ${earlier.who} (${earlier.where}) and ${credential.who} (${credential.where})`);
    }
  });
  if (clashes.length === 0) return;
  throw new ConfigError(
    `Baton cannot start: credentials that must differ are the same token, so one could act as the other:\n` +
      `${clashes.join('\n')}\n` +
      'Give each its own token: npm run token -- <responder> (or npm run token -- --webhook).',
  );
}

/** The diagnostics sources that log in, with their `auth` settings. */
function diagnosticsAuth(config: BatonConfig): [DiagnosticsSource, SourceAuth][] {
  const { prometheus, loki, elasticsearch } = config.diagnostics;
  const found: [DiagnosticsSource, SourceAuth][] = [];
  if (prometheus.auth) found.push(['prometheus', prometheus.auth]);
  if (loki?.auth) found.push(['loki', loki.auth]);
  if (elasticsearch?.auth) found.push(['elasticsearch', elasticsearch.auth]);
  return found;
}

/** Each source's credential whose variable is set; requireSecrets stops start-up for the rest. */
function diagnosticsCredentials(config: BatonConfig, env: NodeJS.ProcessEnv): DiagnosticsCredentials {
  const credentials: DiagnosticsCredentials = {};
  for (const [source, auth] of diagnosticsAuth(config)) {
    if ('basic' in auth) {
      const password = env[auth.basic.passwordEnv];
      if (password) credentials[source] = { kind: 'basic', username: auth.basic.username, password };
    } else {
      const token = env[auth.bearer.tokenEnv];
      if (token) credentials[source] = { kind: 'bearer', token };
    }
  }
  return credentials;
}

/**
 * Reads the secrets the configuration names. Throws a ConfigError when two credentials are
 * the same token (see refuseSharedTokens), and when temporal.encryption is on and its keys are
 * unset or unusable (parsePayloadKeys).
 */
export function loadSecrets(config: BatonConfig, env: NodeJS.ProcessEnv = process.env): Secrets {
  const missing: string[] = [];
  const credentials: Credential[] = [];
  const tokens: { digest: string; responder: ResponderConfig }[] = [];
  config.responders.forEach((responder, index) => {
    const who = `${responder.id}'s API token`;
    if (responder.tokenSha256) {
      tokens.push({ digest: responder.tokenSha256, responder });
      credentials.push({ who, where: `responders[${index}].tokenSha256`, digest: responder.tokenSha256 });
    } else if (responder.tokenEnv) {
      const value = env[responder.tokenEnv];
      if (value) {
        tokens.push({ digest: sha256Hex(value), responder });
        credentials.push({ who, where: responder.tokenEnv, digest: sha256Hex(value) });
      } else missing.push(`${responder.id} (${responder.tokenEnv} is not set)`);
    }
  });

  const webhook = config.api.alertmanager;
  let webhookDigest: string | undefined;
  if (webhook) {
    // Bearer token or basic password: the same secret under other names.
    const secret =
      'bearer' in webhook
        ? {
            what: 'token',
            at: 'api.alertmanager.bearer',
            sha256: webhook.bearer.tokenSha256,
            shaKey: 'tokenSha256',
            env: webhook.bearer.tokenEnv,
            envKey: 'tokenEnv',
          }
        : {
            what: 'password',
            at: 'api.alertmanager.basic',
            sha256: webhook.basic.passwordSha256,
            shaKey: 'passwordSha256',
            env: webhook.basic.passwordEnv,
            envKey: 'passwordEnv',
          };
    const value = secret.env ? env[secret.env] : undefined;
    webhookDigest = secret.sha256 ?? (value ? sha256Hex(value) : undefined);
    if (!webhookDigest) missing.push(`alertmanager webhook (${secret.env} is not set)`);
    else {
      credentials.push({
        who: `the Alertmanager webhook ${secret.what}`,
        where: secret.sha256
          ? `${secret.at}.${secret.shaKey}`
          : (secret.env ?? `${secret.at}.${secret.envKey}`),
        digest: webhookDigest,
      });
    }
  }

  const optionalEnv = (name: string | undefined): string | undefined =>
    name && env[name] ? env[name] : undefined;

  const inboundRoute = config.notifications.email?.inboundRoute;
  const inboundValue = optionalEnv(inboundRoute?.tokenEnv);
  const inboundDigest = inboundRoute?.tokenSha256 ?? (inboundValue ? sha256Hex(inboundValue) : undefined);
  if (inboundRoute && !inboundDigest)
    missing.push(`email inbound route (${inboundRoute.tokenEnv} is not set)`);
  else if (inboundRoute && inboundDigest) {
    credentials.push({
      who: 'the email inbound route token',
      where: inboundRoute.tokenSha256
        ? 'notifications.email.inboundRoute.tokenSha256'
        : (inboundRoute.tokenEnv ?? 'notifications.email.inboundRoute.tokenEnv'),
      digest: inboundDigest,
    });
  }

  refuseSharedTokens(credentials);

  // Never a silent fallback to plaintext: encryption that is on needs its keys, or nothing starts.
  const encryption = config.temporal.encryption;
  const payloadKeys = encryption ? parsePayloadKeys(env[encryption.keysEnv], encryption.keysEnv) : undefined;

  return {
    responderForToken(token) {
      const digest = sha256Hex(token);
      let found: ResponderConfig | undefined;
      // Compare against every entry so timing does not tell which tokens exist.
      for (const entry of tokens) if (sameDigest(entry.digest, digest)) found = entry.responder;
      return found;
    },
    checkWebhook(auth) {
      if (!webhook) return false;
      // Configured but the secret is missing: refuse everything rather than accept anything.
      if (!webhookDigest) return false;
      if ('bearer' in webhook) {
        return auth.bearer !== undefined && sameDigest(webhookDigest, sha256Hex(auth.bearer));
      }
      return (
        auth.basic !== undefined &&
        auth.basic.username === webhook.basic.username &&
        sameDigest(webhookDigest, sha256Hex(auth.basic.password))
      );
    },
    webhookAuthConfigured: webhook !== undefined,
    slackToken: optionalEnv(config.notifications.slack?.tokenEnv),
    slackSigningSecret: optionalEnv(config.notifications.slack?.signingSecretEnv),
    teamsAppPassword: optionalEnv(config.notifications.teams?.appPasswordEnv),
    smtpPassword: optionalEnv(config.notifications.email?.smtp.passwordEnv),
    emailLinkSecret: optionalEnv(config.notifications.email?.linkSecretEnv),
    checkEmailInbound(bearer) {
      return (
        inboundDigest !== undefined && bearer !== undefined && sameDigest(inboundDigest, sha256Hex(bearer))
      );
    },
    temporalApiKey: optionalEnv(config.temporal.apiKeyEnv),
    diagnostics: diagnosticsCredentials(config, env),
    ...(payloadKeys ? { payloadKeys } : {}),
    missing,
    demoCredentials: credentials
      .filter((c) => DEMO_TOKEN_DIGESTS.has(c.digest))
      .map((c) => `${c.who} (${c.where})`),
  };
}

/**
 * Whether a host the API listens on is reachable from this machine only: 127.0.0.0/8, ::1
 * (IPv4-mapped too) or localhost. 0.0.0.0 and :: are every interface, not loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (name === 'localhost') return true;
  if (net.isIPv4(name)) return name.split('.')[0] === '127';
  if (!net.isIPv6(name)) return false;
  const compact = new URL(`http://[${name}]`).hostname.slice(1, -1);
  return compact === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(compact);
}

/**
 * The demo configuration's tokens are published in the README: anyone could act as a
 * manager with them. They work where only this machine reaches the API (api.host, or HOST,
 * on a loopback address); anywhere else start-up stops, naming each demo credential.
 */
export function requireNoDemoCredentials(
  config: BatonConfig,
  secrets: Pick<Secrets, 'demoCredentials'>,
  source = 'the configuration',
): void {
  if (secrets.demoCredentials.length === 0 || isLoopbackHost(config.api.host)) return;
  const lines = secrets.demoCredentials.map((c) => `  - ${c}`);
  throw new ConfigError(
    `Baton cannot start: the API would listen on ${config.api.host}, which is not a loopback address, ` +
      `and these credentials are Baton's published demo tokens (anyone can read them in the README):\n` +
      `${lines.join('\n')}\n` +
      `Make new ones with npm run token -- <responder> (and npm run token -- --webhook for the webhook) ` +
      `and put them in ${source} or the environment; the demo tokens work only with api.host ` +
      '(or HOST) on 127.0.0.1, ::1 or localhost.',
  );
}

/**
 * No code path serves an open webhook by accident: without `api.alertmanager` credentials
 * the API refuses to start unless `api.allowUnauthenticated: true` says in so many words
 * that anyone may post alerts.
 */
export function requireWebhookAuth(config: BatonConfig, source = 'the configuration'): void {
  if (config.api.alertmanager || config.api.allowUnauthenticated) return;
  throw new ConfigError(
    `the Alertmanager webhook has no credentials: set api.alertmanager in ${source} ` +
      '(bearer: { tokenEnv | tokenSha256 } or basic: { username, passwordEnv | passwordSha256 }), ' +
      'or api.allowUnauthenticated: true to let it accept unauthenticated requests',
  );
}

/** Which part of Baton is starting: each needs the secrets it uses, and only those. */
export type SecretUser = 'api' | 'worker';

interface SecretVariable {
  variable: string;
  /** Where the configuration names it. */
  path: string;
  /** Who needs it, and for what. */
  neededFor: string;
  users: SecretUser[];
}

function secretVariables(config: BatonConfig): SecretVariable[] {
  const found: SecretVariable[] = [];
  const add = (variable: string | undefined, path: string, neededFor: string, users: SecretUser[]) => {
    if (variable) found.push({ variable, path, neededFor, users });
  };
  const webhook = config.api.alertmanager;
  if (webhook && 'bearer' in webhook) {
    add(
      webhook.bearer.tokenEnv,
      'api.alertmanager.bearer.tokenEnv',
      "the API, to check Alertmanager's webhook token",
      ['api'],
    );
  } else if (webhook) {
    add(
      webhook.basic.passwordEnv,
      'api.alertmanager.basic.passwordEnv',
      "the API, to check Alertmanager's webhook password",
      ['api'],
    );
  }
  config.responders.forEach((r, index) =>
    add(r.tokenEnv, `responders[${index}].tokenEnv`, `the API, for ${r.id}'s API token`, ['api']),
  );
  add(
    config.notifications.slack?.tokenEnv,
    'notifications.slack.tokenEnv',
    'the worker, to send Slack messages',
    ['worker'],
  );
  const slack = config.notifications.slack;
  if (slack?.signingSecretEnv) {
    add(
      slack.signingSecretEnv,
      'notifications.slack.signingSecretEnv',
      "the API, to check that Slack's requests come from Slack",
      ['api'],
    );
    add(
      slack.tokenEnv,
      'notifications.slack.tokenEnv',
      'the API, to answer Slack (users.info, ephemeral messages, forms, thread lookups)',
      ['api'],
    );
  }
  add(
    config.notifications.email?.smtp.passwordEnv,
    'notifications.email.smtp.passwordEnv',
    'the worker, to log in to the SMTP server',
    ['worker'],
  );
  const email = config.notifications.email;
  if (email?.inbound || email?.inboundRoute) {
    add(
      email.smtp.passwordEnv,
      'notifications.email.smtp.passwordEnv',
      'the API, to log in to the SMTP server (it answers email replies)',
      ['api'],
    );
  }
  add(
    config.notifications.email?.linkSecretEnv,
    'notifications.email.linkSecretEnv',
    'the worker, to sign the links and reply addresses in emails',
    ['worker'],
  );
  add(
    config.notifications.email?.linkSecretEnv,
    'notifications.email.linkSecretEnv',
    'the API, to check email action links and replies',
    ['api'],
  );
  add(
    config.notifications.email?.inboundRoute?.tokenEnv,
    'notifications.email.inboundRoute.tokenEnv',
    "the API, to check the mail provider's token on /email/inbound",
    ['api'],
  );
  for (const [source, auth] of diagnosticsAuth(config)) {
    const [variable, path] =
      'basic' in auth
        ? [auth.basic.passwordEnv, `diagnostics.${source}.auth.basic.passwordEnv`]
        : [auth.bearer.tokenEnv, `diagnostics.${source}.auth.bearer.tokenEnv`];
    add(variable, path, `the worker, to log in to ${source} for diagnostics`, ['worker']);
  }
  add(config.temporal.apiKeyEnv, 'temporal.apiKeyEnv', 'the API and the worker, to connect to Temporal', [
    'api',
    'worker',
  ]);
  add(
    config.temporal.encryption?.keysEnv,
    'temporal.encryption.keysEnv',
    "the API and the worker, to encrypt and decrypt what they put in Temporal's history",
    ['api', 'worker'],
  );
  return found;
}

/** The random bytes the shared secrets must carry: what `npm run token` makes. */
export const SECRET_BYTES = 32;
/**
 * Slack issues signing secrets of 32 hexadecimal characters, 16 bytes, and lets nobody choose
 * a longer one: Baton asks for what Slack issues.
 */
export const SLACK_SIGNING_SECRET_BYTES = 16;

/**
 * How many random bytes a secret can carry at most, from its alphabet: 4 bits a character
 * when it is all hexadecimal digits, else 6 (base64 and base64url; other text is given no
 * more). 32 bytes are 64 hex characters or 43 base64url ones.
 */
export function secretBytes(value: string): number {
  const bitsPerCharacter = /^[0-9a-f]*$/i.test(value) ? 4 : 6;
  return Math.floor((value.length * bitsPerCharacter) / 8);
}

/**
 * Whether a secret is long enough yet plainly not drawn at random: fewer than 8 distinct
 * characters, a shorter piece repeated ("abcabc…"), or mostly one steady run ("abcdefgh…",
 * "ABC…XYZabc…xyz"): one step between neighbours for more than half of them. A random
 * secret of 16 bytes or more is none of these but with odds far below one in a million; a
 * long passphrase of words can still pass.
 */
export function patternedSecret(value: string): boolean {
  const characters = [...value];
  if (new Set(characters).size < 8) return true;
  for (let period = 1; period <= characters.length / 2; period += 1) {
    if (characters.every((c, i) => i < period || c === characters[i - period])) return true;
  }
  const steps = new Map<number, number>();
  let commonest = 0;
  for (let i = 1; i < characters.length; i += 1) {
    const step = (characters[i]?.codePointAt(0) ?? 0) - (characters[i - 1]?.codePointAt(0) ?? 0);
    const count = (steps.get(step) ?? 0) + 1;
    steps.set(step, count);
    commonest = Math.max(commonest, count);
  }
  return commonest * 2 > characters.length - 1;
}

interface StrongSecret {
  variable: string;
  path: string;
  bytes: number;
  /** How to get a good one. */
  makeWith: string;
  users: SecretUser[];
}

/** The secrets from the environment that must be strong: the ones a stranger could guess at. */
function strongSecrets(config: BatonConfig): StrongSecret[] {
  const found: StrongSecret[] = [];
  const add = (
    variable: string | undefined,
    path: string,
    bytes: number,
    makeWith: string,
    users: SecretUser[],
  ) => {
    if (variable && !found.some((s) => s.variable === variable)) {
      found.push({ variable, path, bytes, makeWith, users });
    }
  };
  const webhook = config.api.alertmanager;
  const webhookMake = 'npm run token -- --webhook';
  if (webhook && 'bearer' in webhook) {
    add(webhook.bearer.tokenEnv, 'api.alertmanager.bearer.tokenEnv', SECRET_BYTES, webhookMake, ['api']);
  } else if (webhook) {
    add(webhook.basic.passwordEnv, 'api.alertmanager.basic.passwordEnv', SECRET_BYTES, webhookMake, ['api']);
  }
  add(
    config.notifications.slack?.signingSecretEnv,
    'notifications.slack.signingSecretEnv',
    SLACK_SIGNING_SECRET_BYTES,
    "copy it whole from the Slack app's Basic Information page (App Credentials)",
    ['api'],
  );
  const email = config.notifications.email;
  add(email?.linkSecretEnv, 'notifications.email.linkSecretEnv', SECRET_BYTES, 'npm run token -- --secret', [
    'api',
    'worker',
  ]);
  add(
    email?.inboundRoute?.tokenEnv,
    'notifications.email.inboundRoute.tokenEnv',
    SECRET_BYTES,
    'npm run token -- --inbound',
    ['api'],
  );
  return found;
}

/**
 * Start-up stops when a secret the starting parts need names an unset environment variable,
 * rather than run with it missing (a webhook that answers every call 401, a responder locked
 * out, pages that never reach Slack), and when a secret anyone could try to guess (the
 * webhook's, Slack's signing secret, the email link secret, the inbound route's token) is
 * too short or plainly made by hand (secretBytes, patternedSecret). The published demo
 * tokens are left to requireNoDemoCredentials. The error names each variable and who needs
 * it, never a value.
 */
export function requireSecrets(
  config: BatonConfig,
  users: SecretUser[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  const unset = secretVariables(config).filter(
    (s) => s.users.some((u) => users.includes(u)) && !env[s.variable],
  );
  if (unset.length > 0) {
    const lines = unset.map((s) => `  - ${s.variable}: needed by ${s.neededFor} (${s.path})`);
    throw new ConfigError(
      `Baton cannot start: ${unset.length === 1 ? 'an environment variable' : 'environment variables'} ` +
        `the configuration names ${unset.length === 1 ? 'is' : 'are'} not set:\n${lines.join('\n')}\n` +
        'Set them in the environment, or change the configuration.',
    );
  }
  const weak = strongSecrets(config).filter((s) => {
    const value = env[s.variable];
    if (!value || !s.users.some((u) => users.includes(u)) || DEMO_TOKEN_DIGESTS.has(sha256Hex(value))) {
      return false;
    }
    return secretBytes(value) < s.bytes || patternedSecret(value);
  });
  if (weak.length === 0) return;
  const lines = weak.map(
    (s) =>
      `  - ${s.variable} (${s.path}) needs ${s.bytes} random bytes ` +
      `(${s.bytes * 2} hex or ${Math.ceil((s.bytes * 8) / 6)} base64url characters, not a pattern): ${s.makeWith}`,
  );
  throw new ConfigError(
    `Baton cannot start: ${weak.length === 1 ? 'a secret' : 'secrets'} in the environment ` +
      `${weak.length === 1 ? 'is' : 'are'} too weak to stand being guessed at:\n${lines.join('\n')}`,
  );
}

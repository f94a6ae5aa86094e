import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './load';
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
  smtpPassword?: string;
  /** Signs and checks email action links and reply addresses (notifications.email.linkSecretEnv). */
  emailLinkSecret?: string;
  /** Whether a bearer token is the one of POST /email/inbound; false when none is configured. */
  checkEmailInbound(bearer: string | undefined): boolean;
  temporalApiKey?: string;
  /**
   * Responders (and the webhook) whose variable is named but unset. Start-up refuses them
   * (requireSecrets); tests that build parts with an empty environment see them here.
   */
  missing: string[];
}

export function loadSecrets(config: BatonConfig, env: NodeJS.ProcessEnv = process.env): Secrets {
  const missing: string[] = [];
  const tokens: { digest: string; responder: ResponderConfig }[] = [];
  for (const responder of config.responders) {
    if (responder.tokenSha256) {
      tokens.push({ digest: responder.tokenSha256, responder });
    } else if (responder.tokenEnv) {
      const value = env[responder.tokenEnv];
      if (value) tokens.push({ digest: sha256Hex(value), responder });
      else missing.push(`${responder.id} (${responder.tokenEnv} is not set)`);
    }
  }

  const webhook = config.api.alertmanager;
  let webhookDigest: string | undefined;
  if (webhook) {
    if ('bearer' in webhook) {
      const value = webhook.bearer.tokenEnv ? env[webhook.bearer.tokenEnv] : undefined;
      webhookDigest = webhook.bearer.tokenSha256 ?? (value ? sha256Hex(value) : undefined);
      if (!webhookDigest) missing.push(`alertmanager webhook (${webhook.bearer.tokenEnv} is not set)`);
    } else {
      const value = webhook.basic.passwordEnv ? env[webhook.basic.passwordEnv] : undefined;
      webhookDigest = webhook.basic.passwordSha256 ?? (value ? sha256Hex(value) : undefined);
      if (!webhookDigest) missing.push(`alertmanager webhook (${webhook.basic.passwordEnv} is not set)`);
    }
  }

  const optionalEnv = (name: string | undefined): string | undefined =>
    name && env[name] ? env[name] : undefined;

  const inboundRoute = config.notifications.email?.inboundRoute;
  const inboundValue = optionalEnv(inboundRoute?.tokenEnv);
  const inboundDigest = inboundRoute?.tokenSha256 ?? (inboundValue ? sha256Hex(inboundValue) : undefined);
  if (inboundRoute && !inboundDigest)
    missing.push(`email inbound route (${inboundRoute.tokenEnv} is not set)`);

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
    smtpPassword: optionalEnv(config.notifications.email?.smtp.passwordEnv),
    emailLinkSecret: optionalEnv(config.notifications.email?.linkSecretEnv),
    checkEmailInbound(bearer) {
      return (
        inboundDigest !== undefined && bearer !== undefined && sameDigest(inboundDigest, sha256Hex(bearer))
      );
    },
    temporalApiKey: optionalEnv(config.temporal.apiKeyEnv),
    missing,
  };
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
  add(config.temporal.apiKeyEnv, 'temporal.apiKeyEnv', 'the API and the worker, to connect to Temporal', [
    'api',
    'worker',
  ]);
  return found;
}

/**
 * Start-up stops when a secret the starting parts need names an unset environment variable,
 * rather than run with it missing (a webhook that answers every call 401, a responder locked
 * out, pages that never reach Slack). The error names each variable and who needs it.
 */
export function requireSecrets(
  config: BatonConfig,
  users: SecretUser[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  const unset = secretVariables(config).filter(
    (s) => s.users.some((u) => users.includes(u)) && !env[s.variable],
  );
  if (unset.length === 0) return;
  const lines = unset.map((s) => `  - ${s.variable}: needed by ${s.neededFor} (${s.path})`);
  throw new ConfigError(
    `Baton cannot start: ${unset.length === 1 ? 'an environment variable' : 'environment variables'} ` +
      `the configuration names ${unset.length === 1 ? 'is' : 'are'} not set:\n${lines.join('\n')}\n` +
      'Set them in the environment, or change the configuration.',
  );
}

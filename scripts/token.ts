/**
 * `npm run token -- <responder>` (or `-- --webhook`, `-- --inbound`): a new random API token
 * and what to paste where. The configuration keeps only the token's SHA-256 digest, or names
 * the environment variable that holds it; the token itself is printed once, here.
 * `npm run token -- --secret` makes the email link secret, which Baton needs as it is.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { sha256Hex } from '../config/secrets';

const HELP = `Usage:
  npm run token -- <responder>    a new API token for that responder
  npm run token -- --webhook      a new token for the Alertmanager webhook
  npm run token -- --inbound      a new token for POST /email/inbound (notifications.email.inboundRoute)
  npm run token -- --secret       a new email link secret (notifications.email.linkSecretEnv)
  npm run token -- --help

The token is 32 random bytes, base64url (43 characters): what Baton asks of the webhook's,
the inbound route's and the link secret. With a configuration (BATON_CONFIG, or
config/baton.yaml), the responder must be one of its responders.

Output for a token, one field a line; the first two lines are always these:
  token: <the token: give it to its holder; Baton keeps only its digest>
  sha256: <its SHA-256 digest, lower-case hex>
then what to paste, either in the configuration (under the responder, or under
api.alertmanager.bearer for the webhook):
  tokenSha256: <digest>
or, where the configuration names a variable (tokenEnv), in the API's environment:
  export TOKEN_ALICE=<token>
For the webhook it also prints the lines for alertmanager.yml. --secret prints
  secret: <the secret>
and the export line for the variable linkSecretEnv names: the same value for the worker and
the API, kept in the environment only (nothing can check a secret by its digest).`;

interface NewToken {
  token: string;
  sha256: string;
}

function newToken(): NewToken {
  const token = randomBytes(32).toString('base64url');
  return { token, sha256: sha256Hex(token) };
}

function envNameFor(id: string): string {
  return `TOKEN_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The configuration, if one is found; undefined without one, or when it does not load (said on stderr). */
function findConfig(env: NodeJS.ProcessEnv): { config: BatonConfig; file: string } | undefined {
  if (!env.BATON_CONFIG && !existsSync(DEFAULT_CONFIG_PATH)) return undefined;
  try {
    const { config, file } = loadConfig(env);
    return { config, file };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // A token may be what fixes the configuration (two responders with one digest): go on.
    console.error(
      `warning: the configuration could not be read, so the responder is not checked:\n${err.message}`,
    );
    return undefined;
  }
}

function responderLines(id: string, found: ReturnType<typeof findConfig>, made: NewToken): string[] {
  const responder = found?.config.responders.find((r) => r.id === id);
  const variable = responder?.tokenEnv ?? envNameFor(id);
  const where = found ? `under ${id} in ${found.file}` : `under ${id} in the configuration`;
  if (responder?.tokenEnv) {
    return [
      `# ${found?.file ?? 'The configuration'} names ${variable} for ${id}: set it in the API's environment`,
      `export ${variable}=${made.token}`,
      `# or put the digest ${where}, in place of tokenEnv:`,
      `tokenSha256: ${made.sha256}`,
    ];
  }
  return [
    `# Paste ${where} (in place of any tokenSha256 there):`,
    `tokenSha256: ${made.sha256}`,
    `# or name a variable (tokenEnv: ${variable}) and set it in the API's environment:`,
    `export ${variable}=${made.token}`,
  ];
}

function webhookLines(found: ReturnType<typeof findConfig>, made: NewToken): string[] {
  const auth = found?.config.api.alertmanager;
  const file = found ? ` in ${found.file}` : '';
  if (auth && 'basic' in auth) {
    const variable = auth.basic.passwordEnv ?? 'WEBHOOK_PASSWORD';
    return [
      `# ${found?.file ?? 'The configuration'} uses basic auth: the token is the password`,
      `# Paste under api.alertmanager.basic${file}:`,
      `passwordSha256: ${made.sha256}`,
      `# or with passwordEnv: ${variable}, in the API's environment:`,
      `export ${variable}=${made.token}`,
      `# alertmanager.yml, in the webhook's http_config:`,
      `basic_auth: { username: ${auth.basic.username}, password: ${made.token} }`,
    ];
  }
  const variable = auth?.bearer.tokenEnv ?? 'WEBHOOK_TOKEN';
  return [
    `# Paste under api.alertmanager.bearer${file}:`,
    `tokenSha256: ${made.sha256}`,
    `# or with tokenEnv: ${variable}, in the API's environment:`,
    `export ${variable}=${made.token}`,
    "# alertmanager.yml, in the webhook's http_config:",
    `authorization: { type: Bearer, credentials: ${made.token} }`,
  ];
}

function inboundLines(found: ReturnType<typeof findConfig>, made: NewToken): string[] {
  const route = found?.config.notifications.email?.inboundRoute;
  const file = found ? ` in ${found.file}` : '';
  const variable = route?.tokenEnv ?? 'BATON_EMAIL_INBOUND_TOKEN';
  return [
    `# Paste under notifications.email.inboundRoute${file}:`,
    `tokenSha256: ${made.sha256}`,
    `# or with tokenEnv: ${variable}, in the API's environment:`,
    `export ${variable}=${made.token}`,
    "# The mail provider's inbound route posts with this header:",
    `Authorization: Bearer ${made.token}`,
  ];
}

function secretLines(found: ReturnType<typeof findConfig>, made: NewToken): string[] {
  const variable = found?.config.notifications.email?.linkSecretEnv ?? 'BATON_EMAIL_LINK_SECRET';
  return [
    `secret: ${made.token}`,
    '',
    found?.config.notifications.email?.linkSecretEnv
      ? `# ${found.file} names ${variable} (notifications.email.linkSecretEnv): set it in the worker's and the API's environment`
      : `# With notifications.email.linkSecretEnv: ${variable}, set it in the worker's and the API's environment:`,
    `export ${variable}=${made.token}`,
  ];
}

/** What is asked for: a responder's token, or one of the kinds the options name. */
const KINDS = ['--webhook', '--inbound', '--secret'] as const;

function main(args: string[], env: NodeJS.ProcessEnv): number {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const kinds = KINDS.filter((k) => args.includes(k));
  const kind = kinds[0];
  const rest = args.filter((a) => !(KINDS as readonly string[]).includes(a));
  if (rest.some((a) => a.startsWith('-'))) {
    console.error(`unknown option ${rest.find((a) => a.startsWith('-'))}\n\n${HELP}`);
    return 2;
  }
  if (kinds.length > 1 || (kind ? rest.length > 0 : rest.length !== 1)) {
    const why =
      kinds.length > 1
        ? `choose one of ${kinds.join(', ')}`
        : kind
          ? `${kind} takes no responder`
          : 'name one responder, or --webhook, --inbound or --secret';
    console.error(`${why}\n\n${HELP}`);
    return 2;
  }
  const found = findConfig(env);
  if (kind === '--secret') {
    console.log(secretLines(found, newToken()).join('\n'));
    return 0;
  }
  const id = rest[0];
  if (id !== undefined) {
    const known = found?.config.responders.map((r) => r.id);
    if (known && !known.includes(id)) {
      console.error(
        `${found?.file} has no responder "${id}"; its responders are ${known.join(', ')}. ` +
          'Add the responder to the configuration first (or set BATON_CONFIG to the file that has it).',
      );
      return 1;
    }
    if (!known && !/^[a-z0-9][a-z0-9_-]*$/.test(id)) {
      console.error(`"${id}" is not a responder id: use lower-case letters, digits, "-" and "_" only`);
      return 1;
    }
  }
  const made = newToken();
  console.log(
    [
      `token: ${made.token}`,
      `sha256: ${made.sha256}`,
      '',
      ...(id !== undefined
        ? responderLines(id, found, made)
        : kind === '--inbound'
          ? inboundLines(found, made)
          : webhookLines(found, made)),
    ].join('\n'),
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2), process.env);

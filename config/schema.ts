import { z } from 'zod';
import { diagnosticsSchema } from './diagnostics';
import { documentsSchema } from './documents';
import { metricsSchema } from './metrics';
import { shutdownSchema } from './shutdown';
import { parseDuration } from './duration';
import { checkSchedules, scheduleEntrySchema } from '../schedules/schema';
import { scheduleOfTarget } from '../schedules/targets';
import {
  AUTO_RESOLVE_POLICIES,
  LEVELS,
  REQUIRABLE_FOLLOW_UPS,
  SEVERITIES,
} from '../workflows/incident/model';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, "-" and "_" only');

// Past this, dates computed from a duration stop being representable (and no process waits so long).
const MAX_DURATION_MS = 366 * 86_400_000;

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a duration; write it like 30s, 5m, 1h30m or 2d`,
    });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is longer than a year; no incident timer waits that long`,
    });
    return z.NEVER;
  }
  return ms;
});

const followUpKinds = z
  .array(z.enum(REQUIRABLE_FOLLOW_UPS))
  .refine((kinds) => new Set(kinds).size === kinds.length, 'name each follow-up once');

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'name an environment variable');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'write a lower-case hex SHA-256 digest');

/**
 * A secret never stands in the file in plain text: either the environment variable that
 * holds it, or the SHA-256 digest of it (enough to check a presented token).
 */
const secretRef = {
  tokenEnv: envName.optional(),
  tokenSha256: sha256.optional(),
};

const responder = z.strictObject({
  id,
  name: z.string().min(1),
  level: z.enum(LEVELS),
  email: z.email().optional(),
  slackUserId: z.string().min(1).optional(),
  /** The person's Microsoft Entra object id (a Teams user's `aadObjectId`). */
  teamsUserId: z.guid().optional(),
  /** A manager who oversees every team: sees and may act on every team's incidents. */
  allTeams: z.boolean().default(false),
  ...secretRef,
});

/**
 * Whom a step pages: responders by id, and on-call schedules as `schedule:<id>` (whoever is
 * on call when the step pages) or `schedule:<id>:next` (the one after them).
 */
const target = z
  .string()
  .regex(
    /^(schedule:[a-z0-9][a-z0-9_-]*(:next)?|[a-z0-9][a-z0-9_-]*)$/,
    'name a responder id, schedule:<id> or schedule:<id>:next',
  );

const escalationStep = z.strictObject({
  notify: z.array(target).min(1),
  ackTimeout: duration,
});

const level3Step = z.strictObject({
  notify: z.array(target).min(1),
  acceptTimeout: duration,
});

const stakeholder = z.union([
  z.strictObject({ slack: z.string().min(1) }),
  z.strictObject({ email: z.email() }),
]);

const team = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  slack: z.strictObject({
    channel: z.string().min(1),
    level3Channel: z.string().min(1),
  }),
  /** Deprecated (see deprecations.ts): accepted and ignored. */
  email: z.email().optional(),
  escalation: z.strictObject({
    steps: z.array(escalationStep).min(1),
    repeat: z.number().int().min(1).max(10).default(1),
  }),
  level3: z.array(level3Step).min(1),
  /**
   * Who else belongs to the team, besides those its paging, Level 3 and approver lists name:
   * only members (and the team's managers) see and act on its incidents.
   */
  members: z.array(id).default([]),
  stakeholders: z
    .strictObject({
      internal: z.array(stakeholder).default([]),
      external: z
        .strictObject({
          email: z.array(z.email()).default([]),
          approvers: z.array(id).default([]),
        })
        .default({ email: [], approvers: [] }),
    })
    .default({ internal: [], external: { email: [], approvers: [] } }),
});

const route = z.union([
  z.strictObject({
    match: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, {
      message: 'a route must match at least one label',
    }),
    team: id,
    severity: z.enum(SEVERITIES),
  }),
  z.strictObject({
    default: z.literal(true),
    team: id,
    severity: z.enum(SEVERITIES),
  }),
]);

const severityPolicy = z.strictObject({
  assessWithin: duration,
  stakeholderUpdateEvery: duration,
  nudgeEscalationAfter: duration,
});

const webhookAuth = z.union([
  z.strictObject({ bearer: z.strictObject(secretRef) }),
  z.strictObject({
    basic: z.strictObject({
      username: z.string().min(1),
      passwordEnv: envName.optional(),
      passwordSha256: sha256.optional(),
    }),
  }),
]);

export const configSchema = z
  .strictObject({
    dataDir: z.string().min(1).default('./data'),
    temporal: z
      .strictObject({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        taskQueue: z.string().min(1).default('baton-incidents'),
        uiUrl: z.url().default('http://127.0.0.1:8233'),
        tls: z
          .strictObject({
            serverName: z.string().optional(),
            caFile: z.string().optional(),
            certFile: z.string().optional(),
            keyFile: z.string().optional(),
          })
          .optional(),
        apiKeyEnv: envName.optional(),
        /**
         * Encrypts every payload Baton puts in Temporal's history (config/payload-codec.ts);
         * off unless set. The keys come from the variable `keysEnv` names.
         */
        encryption: z
          .strictObject({
            keysEnv: envName,
            /**
             * The Temporal UI origins whose browsers may call Baton's codec endpoint
             * (/codec/decode); the origin of temporal.uiUrl when not given.
             */
            codecOrigins: z
              .array(
                z.string().regex(/^https?:\/\/[^/\s]+$/, 'write an origin like https://temporal.example.com'),
              )
              .optional(),
          })
          .optional(),
      })
      .default({
        address: '127.0.0.1:7233',
        namespace: 'default',
        taskQueue: 'baton-incidents',
        uiUrl: 'http://127.0.0.1:8233',
      }),
    worker: z
      .strictObject({
        /**
         * Incidents a worker keeps in memory between their workflow tasks; one that is not
         * kept replays its history when it next has work. Bounds the worker's memory however
         * many incidents are open.
         */
        maxCachedIncidents: z.number().int().min(1).max(100_000).default(250),
      })
      .default({ maxCachedIncidents: 250 }),
    metrics: metricsSchema,
    shutdown: shutdownSchema,
    diagnostics: diagnosticsSchema,
    documents: documentsSchema,
    api: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(3000),
        publicUrl: z.url().optional(),
        /** Every request is logged at info with its id; tokens and secrets never. */
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        alertmanager: webhookAuth.optional(),
        /**
         * Without `alertmanager` credentials Baton refuses to start, unless this says in so
         * many words that the webhook may accept anyone.
         */
        allowUnauthenticated: z.boolean().default(false),
        /**
         * The reverse proxies in front of the API (addresses or CIDR ranges): a request from
         * one of them is taken to come from the address its X-Forwarded-For names, so that
         * logs and the failed-login limit see each caller rather than the proxy.
         */
        trustProxy: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+(\/\d{1,3})?$/, 'write an IP address or a CIDR range'))
          .default([]),
      })
      .default({
        host: '127.0.0.1',
        port: 3000,
        logLevel: 'info',
        allowUnauthenticated: false,
        trustProxy: [],
      }),
    notifications: z
      .strictObject({
        slack: z
          .strictObject({
            apiUrl: z.url().optional(),
            tokenEnv: envName,
            signingSecretEnv: envName.optional(),
            /**
             * One live message per incident per channel, kept current, with the timeline in
             * its thread (default); false posts every notice to the channels instead.
             */
            liveMessages: z.boolean().default(true),
          })
          .optional(),
        teams: z
          .strictObject({
            /** The bot's Microsoft App ID: the audience of every token Teams sends Baton. */
            appId: z.guid(),
            /**
             * The Microsoft Entra tenants whose Teams may talk to Baton. Bot Connector tokens
             * name no tenant, so each activity's tenant is checked against this list.
             */
            tenants: z.array(z.guid()).min(1),
            /**
             * Where the Bot Connector's signing keys are published (its OpenID metadata; the
             * keys are read from the same place with `/keys` in place of
             * `/openidconfiguration`). Microsoft's public cloud by default; a sovereign cloud
             * (or a test's stand-in) names its own.
             */
            /**
             * The bot's client secret, by the variable it is in: Baton asks for the bot's token
             * with it (client credentials) before it writes to Teams. Without it Baton only
             * listens.
             */
            appPasswordEnv: envName.optional(),
            /**
             * Where the bot's token is asked for: Microsoft's multi-tenant bot authority by
             * default; a single-tenant bot names its tenant's
             * (`https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`).
             */
            tokenUrl: z.url().default('https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token'),
            openIdMetadataUrl: z
              .url()
              .default('https://login.botframework.com/v1/.well-known/openidconfiguration'),
          })
          .optional(),
        email: z
          .strictObject({
            from: z.string().min(3),
            smtp: z.strictObject({
              host: z.string().min(1),
              port: z.number().int().min(1).max(65535),
              /** TLS from the first byte (port 465); otherwise STARTTLS (requireTLS). */
              secure: z.boolean().default(false),
              /**
               * Without `secure`, refuse to send (and to log in) unless the server takes
               * STARTTLS: on unless `secure: true`. `false` lets a server that strips STARTTLS
               * read the password and every email, and is warned of at start.
               */
              requireTLS: z.boolean().optional(),
              /** A PEM file of the CA that signed the server's certificate, for a private CA. */
              caFile: z.string().min(1).optional(),
              user: z.string().optional(),
              passwordEnv: envName.optional(),
            }),
            /**
             * A folder of email templates in place of the repository's channels/email/templates (copy
             * that folder to start: every kind falls back to its default).
             */
            templatesDir: z.string().min(1).optional(),
            /**
             * Signs the action links and the reply addresses in Baton's emails. Without it
             * emails carry no links and no reply address: nobody can act from email.
             */
            linkSecretEnv: envName.optional(),
            /** How long an action link works after it was sent. */
            linkTtl: duration.default(86_400_000),
            /**
             * The domain of reply addresses (`reply+<token>@<replyDomain>`): its MX points at
             * Baton's inbound listener, or at a mail provider that posts to /email/inbound.
             */
            replyDomain: z
              .string()
              .regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^localhost$/i, 'write a mail domain like reply.example.com')
              .optional(),
            /** Baton's own SMTP listener for replies; off unless configured. */
            inbound: z
              .strictObject({
                host: z.string().min(1).default('127.0.0.1'),
                port: z.number().int().min(0).max(65535),
                /**
                 * strict: the reply must also pass DKIM or SPF aligned with its From (DMARC);
                 * token-and-sender: the signed address and the sender's address suffice.
                 */
                authentication: z.enum(['strict', 'token-and-sender']).default('strict'),
                maxMessageBytes: z
                  .number()
                  .int()
                  .min(1024)
                  .default(1024 * 1024),
                maxConnections: z.number().int().min(1).default(20),
              })
              .optional(),
            /** POST /email/inbound (raw MIME from a mail provider), with its own bearer token. */
            inboundRoute: z.strictObject(secretRef).optional(),
          })
          .superRefine((email, ctx) => {
            if ((email.inbound || email.inboundRoute) && !email.linkSecretEnv) {
              ctx.addIssue({
                code: 'custom',
                path: ['linkSecretEnv'],
                message: 'replies need linkSecretEnv: it signs the reply addresses they come back to',
              });
            }
            if ((email.inbound || email.inboundRoute) && !email.replyDomain) {
              ctx.addIssue({
                code: 'custom',
                path: ['replyDomain'],
                message: 'replies need replyDomain: the domain of the addresses they come back to',
              });
            }
            if (email.inboundRoute && !email.inboundRoute.tokenEnv && !email.inboundRoute.tokenSha256) {
              ctx.addIssue({
                code: 'custom',
                path: ['inboundRoute'],
                message: 'give tokenEnv or tokenSha256 for the inbound route',
              });
            }
          })
          .optional(),
      })
      .default({}),
    responders: z.array(responder).min(1),
    teams: z.array(team).min(1),
    /** On-call rotations, each owned by a team; steps page them as `schedule:<id>`. */
    schedules: z.array(scheduleEntrySchema).default([]),
    routes: z.array(route).min(1),
    severities: z.strictObject({
      SEV1: severityPolicy,
      SEV2: severityPolicy,
      SEV3: severityPolicy,
      SEV4: severityPolicy,
    }),
    followUps: z.strictObject({
      reportDue: duration,
      lessonsDue: duration,
      trainingDue: duration,
      remindBefore: duration,
      overdueNotify: z.array(id).min(1),
      /**
       * What a resolved incident of each severity needs; a manager can require more. An
       * incident that cleared before anyone acknowledged it has its drafted report and
       * needs only what its severity lists beyond the report.
       */
      bySeverity: z
        .strictObject({
          SEV1: followUpKinds,
          SEV2: followUpKinds,
          SEV3: followUpKinds,
          SEV4: followUpKinds,
        })
        .default({
          SEV1: ['report', 'lessons', 'training'],
          SEV2: ['report', 'lessons', 'training'],
          SEV3: ['report'],
          SEV4: [],
        }),
      /** When a process improvement from the lessons is due, if the lessons give no date. */
      improvementDue: duration.default(30 * 86_400_000),
    }),
    autoResolveWhenAlertsClear: z.enum(AUTO_RESOLVE_POLICIES).default('unacknowledged-only'),
    runbooks: z
      .record(
        z.string().min(1),
        z.strictObject({ url: z.url(), steps: z.array(z.string().min(1)).default([]) }),
      )
      .default({}),
  })
  .superRefine((config, ctx) => {
    if (config.notifications.email?.linkSecretEnv && !config.api.publicUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'publicUrl'],
        message: "email action links need api.publicUrl: the address people's browsers reach Baton at",
      });
    }
    const responders = new Map(config.responders.map((r) => [r.id, r]));
    const teams = new Set(config.teams.map((t) => t.id));

    const duplicate = (ids: string[], path: (string | number)[], what: string): void => {
      const seen = new Set<string>();
      ids.forEach((value, index) => {
        if (seen.has(value)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, index, 'id'],
            message: `${what} "${value}" is defined twice`,
          });
        }
        seen.add(value);
      });
    };
    duplicate(
      config.responders.map((r) => r.id),
      ['responders'],
      'responder',
    );
    duplicate(
      config.teams.map((t) => t.id),
      ['teams'],
      'team',
    );

    config.responders.forEach((r, index) => {
      if (r.tokenEnv && r.tokenSha256) {
        ctx.addIssue({
          code: 'custom',
          path: ['responders', index],
          message: 'give tokenEnv or tokenSha256, not both',
        });
      }
    });

    // One token for two credentials lets either holder act as the other (a copy-paste
    // mistake turning Alice's token into Dave's, a manager's). Tokens in the environment are
    // compared when the secrets are read (secrets.ts).
    const digestHolders = new Map<string, string>();
    const describe = (path: (string | number)[]): string =>
      path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`)).join('');
    const sameToken = (digest: string | undefined, who: string, path: (string | number)[]): void => {
      if (!digest) return;
      const first = digestHolders.get(digest);
      if (first) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${who} has the same token as ${first}: either could act as the other; give each its own (npm run token)`,
        });
      } else {
        digestHolders.set(digest, `${who} (${describe(path)})`);
      }
    };
    config.responders.forEach((r, index) =>
      sameToken(r.tokenSha256, `responder ${r.id}`, ['responders', index, 'tokenSha256']),
    );
    const webhookAuth = config.api.alertmanager;
    if (webhookAuth && 'bearer' in webhookAuth) {
      sameToken(webhookAuth.bearer.tokenSha256, 'the Alertmanager webhook', [
        'api',
        'alertmanager',
        'bearer',
        'tokenSha256',
      ]);
    } else if (webhookAuth) {
      sameToken(webhookAuth.basic.passwordSha256, 'the Alertmanager webhook', [
        'api',
        'alertmanager',
        'basic',
        'passwordSha256',
      ]);
    }
    sameToken(config.notifications.email?.inboundRoute?.tokenSha256, 'the email inbound route', [
      'notifications',
      'email',
      'inboundRoute',
      'tokenSha256',
    ]);

    const knownResponder = (ref: string, path: (string | number)[], allowed?: readonly string[]): void => {
      const found = responders.get(ref);
      if (!found) {
        ctx.addIssue({ code: 'custom', path, message: `unknown responder "${ref}"` });
      } else if (allowed && !allowed.includes(found.level)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `responder "${ref}" is ${found.level}; this needs ${allowed.join(' or ')}`,
        });
      }
    };

    checkSchedules(
      config.schedules,
      { responderIds: responders.keys(), teamIds: teams, now: Date.now() },
      ctx,
      ['schedules'],
    );
    // A step pages a schedule of its own team; for Level 3, one whose members may accept.
    const knownTarget = (
      team: string,
      ref: string,
      path: (string | number)[],
      allowed?: readonly string[],
    ): void => {
      const schedule = scheduleOfTarget(ref);
      if (schedule === undefined) return knownResponder(ref, path, allowed);
      const found = config.schedules.find((x) => x.id === schedule);
      if (!found) {
        ctx.addIssue({ code: 'custom', path, message: `unknown schedule "${schedule}"` });
      } else if (found.team !== team) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `schedule "${schedule}" belongs to team ${found.team}, not ${team}`,
        });
      } else if (allowed) {
        for (const member of new Set(found.layers.flatMap((l) => l.members))) {
          const level = responders.get(member)?.level;
          if (level && !allowed.includes(level)) {
            ctx.addIssue({
              code: 'custom',
              path,
              message: `schedule "${schedule}" has ${member}, who is ${level}; this needs ${allowed.join(' or ')}`,
            });
          }
        }
      }
    };

    config.teams.forEach((t, ti) => {
      t.escalation.steps.forEach((step, si) =>
        step.notify.forEach((ref, ri) =>
          knownTarget(t.id, ref, ['teams', ti, 'escalation', 'steps', si, 'notify', ri]),
        ),
      );
      t.level3.forEach((step, si) =>
        step.notify.forEach((ref, ri) =>
          knownTarget(t.id, ref, ['teams', ti, 'level3', si, 'notify', ri], ['L3', 'manager']),
        ),
      );
      t.stakeholders.external.approvers.forEach((ref, ri) =>
        knownResponder(ref, ['teams', ti, 'stakeholders', 'external', 'approvers', ri], ['manager']),
      );
      t.members.forEach((ref, ri) => knownResponder(ref, ['teams', ti, 'members', ri]));
    });

    config.responders.forEach((r, index) => {
      if (r.allTeams && r.level !== 'manager') {
        ctx.addIssue({
          code: 'custom',
          path: ['responders', index, 'allTeams'],
          message: `only managers may oversee every team; ${r.id} is ${r.level}`,
        });
      }
    });

    config.followUps.overdueNotify.forEach((ref, ri) =>
      knownResponder(ref, ['followUps', 'overdueNotify', ri]),
    );

    config.routes.forEach((r, index) => {
      if (!teams.has(r.team)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'team'],
          message: `unknown team "${r.team}"`,
        });
      }
      if ('default' in r && index !== config.routes.length - 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index],
          message: 'the default route must be the last one (routes are tried in order)',
        });
      }
    });
    const last = config.routes[config.routes.length - 1];
    if (last && !('default' in last)) {
      ctx.addIssue({
        code: 'custom',
        path: ['routes'],
        message: 'end the routes with a default route ({ default: true, team, severity })',
      });
    }

    if (!config.responders.some((r) => r.level === 'manager')) {
      ctx.addIssue({
        code: 'custom',
        path: ['responders'],
        message: 'at least one responder must be a manager (they approve and waive)',
      });
    }

    if (config.api.alertmanager && config.api.allowUnauthenticated) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'allowUnauthenticated'],
        message:
          'the webhook cannot both check credentials (api.alertmanager) and accept requests without them; remove one',
      });
    }
    if (config.api.alertmanager) {
      const auth = config.api.alertmanager;
      const ok =
        'bearer' in auth
          ? Boolean(auth.bearer.tokenEnv) !== Boolean(auth.bearer.tokenSha256)
          : Boolean(auth.basic.passwordEnv) !== Boolean(auth.basic.passwordSha256);
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          path: ['api', 'alertmanager'],
          message: 'give exactly one of the environment variable or the SHA-256 digest',
        });
      }
    }
  });

export type BatonConfigInput = z.input<typeof configSchema>;
export type BatonConfig = z.output<typeof configSchema>;
export type ResponderConfig = BatonConfig['responders'][number];
export type TeamConfig = BatonConfig['teams'][number];

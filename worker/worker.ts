import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadReportTemplate } from '../activities/documents/report';
import { loadEmailTemplates } from '../channels/email/render';
import { mailerFor, type Mailer } from '../channels/email/mailer';
import { teamsOutboundFor } from '../channels/teams/setup';
import { DeliveryLedger } from '../activities/ledger';
import { Outbox } from '../activities/outbox';
import type { RetryPolicy } from '../activities/retry';
import type { BatonConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import { temporalConnectionOptions, temporalDataConverter } from '../config/temporal';
import { WORKFLOWS_PATH } from './workflows-path';

export interface WorkerDeps {
  config: BatonConfig;
  secrets: Secrets;
  connection: NativeConnection;
  /** A prebuilt workflow bundle (tests build one per run); otherwise the worker bundles workflows/. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
  /** Clients for the outside channels; built from the configuration when not given. */
  slack?: WebClient;
  mailer?: Mailer;
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** Deadline for one attempt at one Slack message or email (default 20 s); tests shorten it. */
  sendTimeoutMs?: number;
  /** Retries of one target (attempts, backoff, budget); tests use milliseconds. */
  retry?: Partial<RetryPolicy>;
  /** Overrides worker.maxCachedIncidents (the benchmark evicts incidents on purpose). */
  maxCachedIncidents?: number;
  /**
   * How long a shutdown lets running tasks finish before their activities are cancelled
   * (shutdown.worker.graceTime); the SDK's default, none, when not given (tests stop at once).
   */
  shutdownGraceMs?: number;
}

/** A shutdown that has not ended this long after its grace time gives up and fails the worker. */
const SHUTDOWN_FORCE_AFTER_GRACE_MS = 10_000;

export function slackClientFor(config: BatonConfig, secrets: Secrets): WebClient | undefined {
  const slack = config.notifications.slack;
  if (!slack || !secrets.slackToken) return undefined;
  return new WebClient(secrets.slackToken, {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    // The notify activity retries each target itself (activities/retry.ts), with a budget;
    // retries here too would multiply with those. A 429 is rejected with its Retry-After
    // rather than waited out silently, so the activity decides whether the wait fits.
    retryConfig: { retries: 0 },
    timeout: 10_000,
    rejectRateLimitedCalls: true,
  });
}

export async function createBatonWorker(deps: WorkerDeps): Promise<Worker> {
  const { config } = deps;
  const log =
    deps.log ??
    ((message: string, fields: Record<string, unknown>) =>
      console.log(JSON.stringify({ message, ...fields })));
  const slack = deps.slack ?? slackClientFor(config, deps.secrets);
  const built = deps.mailer ?? mailerFor(config, deps.secrets);
  // Loaded now, so that a template that does not compile stops the worker with the file named.
  const templatesDir = config.notifications.email?.templatesDir;
  const mailer =
    built && !built.templates
      ? { ...built, templates: loadEmailTemplates(...(templatesDir ? [path.resolve(templatesDir)] : [])) }
      : built;
  // Each incident keeps one live message per channel unless the configuration says not to.
  const liveMessages = Boolean(slack) && config.notifications.slack?.liveMessages !== false;
  const teams = teamsOutboundFor(config, deps.secrets);
  const activities = createActivities({
    config,
    diagnosticsCredentials: deps.secrets.diagnostics,
    notifications: {
      outbox: new Outbox(path.resolve(config.dataDir, 'outbox')),
      liveMessages,
      ledger: new DeliveryLedger(path.resolve(config.dataDir, 'deliveries')),
      log,
      ...(slack ? { slack } : {}),
      ...(mailer ? { mailer } : {}),
      ...(teams ? { teams } : {}),
      ...(deps.sendTimeoutMs !== undefined ? { sendTimeoutMs: deps.sendTimeoutMs } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
    },
    documentation: {
      dir: path.resolve(config.dataDir, 'incidents'),
      // Loaded now, so that a report template that does not compile stops the worker.
      reportTemplate: loadReportTemplate(
        ...(config.documents.reportTemplate ? [path.resolve(config.documents.reportTemplate)] : []),
      ),
      log,
    },
    slackLive: {
      log,
      ...(slack && liveMessages ? { slack } : {}),
      ...(deps.sendTimeoutMs !== undefined ? { sendTimeoutMs: deps.sendTimeoutMs } : {}),
      ...(deps.retry ? { retry: deps.retry } : {}),
    },
  });
  return Worker.create({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: deps.taskQueue ?? config.temporal.taskQueue,
    activities,
    // Payloads are sealed here, on the main thread, before they reach Temporal (never in the
    // workflow sandbox, which has no node:crypto).
    dataConverter: temporalDataConverter(config, deps.secrets),
    // A worker that died leaves its cached incidents' next tasks on its own sticky queue;
    // after this long they go to any worker, so a page due then is late by seconds, not ten.
    stickyQueueScheduleToStartTimeout: '2s',
    // New incidents wait on the shared queue for the task that sends their first page; the
    // SDK's default (0.2) gives most pollers to the sticky queue of incidents already under
    // way, so in an alert storm pages queued behind record writes. Equal shares page first.
    nonStickyToStickyPollRatio: 1,
    // Memory stays flat however many incidents are open: past this many, the least recently
    // active incident leaves the cache and replays its history when it next has work.
    maxCachedWorkflows: deps.maxCachedIncidents ?? config.worker.maxCachedIncidents,
    ...(deps.shutdownGraceMs !== undefined
      ? {
          shutdownGraceTime: deps.shutdownGraceMs,
          shutdownForceTime: deps.shutdownGraceMs + SHUTDOWN_FORCE_AFTER_GRACE_MS,
        }
      : {}),
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
}

export async function connectWorker(config: BatonConfig, secrets: Secrets): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config, secrets));
}

import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import nodemailer from 'nodemailer';
import { createActivities } from '../activities';
import type { Mailer } from '../activities/email';
import { Outbox } from '../activities/outbox';
import type { BatonConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import { temporalConnectionOptions } from '../config/temporal';
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
  /** Overall deadline for one Slack message or email (default 20 s); tests shorten it. */
  sendTimeoutMs?: number;
}

export function slackClientFor(config: BatonConfig, secrets: Secrets): WebClient | undefined {
  const slack = config.notifications.slack;
  if (!slack || !secrets.slackToken) return undefined;
  return new WebClient(secrets.slackToken, {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    // The workflow decides about retries; one bounded attempt here keeps a page from being
    // delayed behind a slow or rate-limited Slack.
    retryConfig: { retries: 0 },
    timeout: 10_000,
    rejectRateLimitedCalls: true,
  });
}

export function mailerFor(config: BatonConfig, secrets: Secrets): Mailer | undefined {
  const email = config.notifications.email;
  if (!email) return undefined;
  const { smtp } = email;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: secrets.smtpPassword ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return { transport, from: email.from };
}

export async function createBatonWorker(deps: WorkerDeps): Promise<Worker> {
  const { config } = deps;
  const log =
    deps.log ??
    ((message: string, fields: Record<string, unknown>) =>
      console.log(JSON.stringify({ message, ...fields })));
  const slack = deps.slack ?? slackClientFor(config, deps.secrets);
  const mailer = deps.mailer ?? mailerFor(config, deps.secrets);
  const activities = createActivities({
    config,
    notifications: {
      outbox: new Outbox(path.resolve(config.dataDir, 'outbox')),
      log,
      ...(slack ? { slack } : {}),
      ...(mailer ? { mailer } : {}),
      ...(deps.sendTimeoutMs !== undefined ? { sendTimeoutMs: deps.sendTimeoutMs } : {}),
    },
    documentation: { dir: path.resolve(config.dataDir, 'incidents') },
  });
  return Worker.create({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: deps.taskQueue ?? config.temporal.taskQueue,
    activities,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
}

export async function connectWorker(config: BatonConfig, secrets: Secrets): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config, secrets));
}

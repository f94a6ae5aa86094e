/**
 * What each channel gives Baton. The notify activity sends through a channel's outbound half
 * and knows nothing else of it; the API mounts its inbound half (the requests the channel
 * sends back, each verified by the channel itself). A channel is a folder beside slack/ and
 * email/ holding both halves, its configuration, and one line in registry.ts.
 */
import type { FastifyInstance, FastifyBaseLogger } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Verdict } from '../activities/delivery-errors';
import type { BatonConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import type { Notification } from '../workflows/incident/model';
import type { IncidentService } from '../api/incidents';
import type { ScheduleService } from '../api/schedules';
import type { ChannelId } from './ids';

export interface OutboundChannel {
  readonly id: ChannelId;
  /**
   * Where the notification goes on this channel. Asked also when the channel cannot send
   * here (Slack or email without their settings, Teams without the bot's secret): those
   * targets are reported undelivered, so a missing channel is visible.
   */
  readonly targets: (notification: Notification) => string[];
  /** Sends to one target, stopping when `signal` aborts; undefined when the channel is not set up. */
  readonly send:
    ((target: string, notification: Notification, signal: AbortSignal) => Promise<void>) | undefined;
  /** What a failed send means: worth trying again, or final. */
  readonly classify: (err: unknown) => Verdict;
}

/** What the API gives a channel's inbound half. */
export interface InboundContext {
  app: FastifyInstance;
  config: BatonConfig;
  secrets: Secrets;
  temporal: Client;
  incidents: IncidentService;
  schedules: ScheduleService;
  log: FastifyBaseLogger;
}

/** Mounts the channel's routes (and listeners) on the API, when its configuration asks for them. */
export type InboundChannel<Options = object> = (context: InboundContext, options: Options) => Promise<void>;

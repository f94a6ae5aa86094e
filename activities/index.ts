import { createDocumentationActivities, type DocumentationDeps } from './documentation';
import { createNotificationActivities, type NotificationDeps } from './notifications';
import { createPolicyActivities } from './policy';
import { createSlackLiveActivities, type SlackLiveDeps } from './slack-live';
import type { BatonConfig } from '../config/schema';

export interface ActivityDeps {
  config: BatonConfig;
  notifications: NotificationDeps;
  documentation: DocumentationDeps;
  slackLive: SlackLiveDeps;
}

/** Every side effect the incident workflow may ask for, built over injected clients. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createNotificationActivities(deps.notifications),
    ...createDocumentationActivities(deps.documentation),
    ...createPolicyActivities(deps.config),
    ...createSlackLiveActivities(deps.slackLive),
  };
}

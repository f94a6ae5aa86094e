import { createDiagnosticsActivities } from './diagnostics-activity';
import { createFirstPageActivities } from './first-page';
import { createDocumentationActivities, type DocumentationDeps } from './documentation';
import { createNotificationActivities, type NotificationDeps } from './notifications';
import { createPolicyActivities } from './policy';
import { createSlackLiveActivities, type SlackLiveDeps } from './slack-live';
import type { DiagnosticsCredentials } from '../config/diagnostics';
import type { BatonConfig } from '../config/schema';

export interface ActivityDeps {
  config: BatonConfig;
  /** The diagnostics sources' credentials (Secrets.diagnostics). */
  diagnosticsCredentials?: DiagnosticsCredentials;
  notifications: NotificationDeps;
  documentation: DocumentationDeps;
  slackLive: SlackLiveDeps;
}

/** Every side effect the incident workflow may ask for, built over injected clients. */
export function createActivities(deps: ActivityDeps) {
  const notifications = createNotificationActivities(deps.notifications);
  return {
    ...notifications,
    ...createFirstPageActivities(deps.config, (page) => notifications.notify(page)),
    ...createDocumentationActivities(deps.documentation),
    ...createPolicyActivities(deps.config),
    ...createSlackLiveActivities(deps.slackLive),
    // Diagnostics go beside the record, in the same incident folder.
    ...createDiagnosticsActivities({
      config: deps.config.diagnostics,
      ...(deps.diagnosticsCredentials ? { credentials: deps.diagnosticsCredentials } : {}),
      dir: deps.documentation.dir,
      ...(deps.documentation.store ? { store: deps.documentation.store } : {}),
    }),
  };
}

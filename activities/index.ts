import { createDiagnosticsActivities } from './diagnostics-activity';
import { createFirstPageActivities } from './first-page';
import { createDocumentationActivities, type DocumentationDeps } from './documentation';
import { createNotificationActivities, type NotificationDeps } from './notifications';
import { adjustmentsSource, createPageTargetActivities } from './page-targets';
import { createScheduleNoticeActivities } from './schedule-notices';
import { LocalFolderStore } from './store/incident-store';
import { createPolicyActivities } from './policy';
import { createSlackLiveActivities, type SlackLiveDeps } from '../channels/slack/live';
import { scheduleStoreIn, type ScheduleStore } from './store/schedule-store';
import type { DiagnosticsCredentials } from '../config/diagnostics';
import type { BatonConfig } from '../config/schema';

export interface ActivityDeps {
  config: BatonConfig;
  /** The diagnostics sources' credentials (Secrets.diagnostics). */
  diagnosticsCredentials?: DiagnosticsCredentials;
  notifications: NotificationDeps;
  documentation: DocumentationDeps;
  slackLive: SlackLiveDeps;
  /** Where schedule overrides and time off are kept; the folder store under config.dataDir by default. */
  schedules?: ScheduleStore;
}

/** Every side effect the incident workflow may ask for, built over injected clients. */
export function createActivities(deps: ActivityDeps) {
  const notifications = createNotificationActivities(deps.notifications);
  const scheduleStore = deps.schedules ?? scheduleStoreIn(deps.config.dataDir);
  const pageTargets = createPageTargetActivities(deps.config, scheduleStore);
  return {
    ...notifications,
    ...createFirstPageActivities(deps.config, (page) => notifications.notify(page), pageTargets),
    ...pageTargets,
    ...createDocumentationActivities(deps.documentation),
    ...createPolicyActivities(deps.config),
    ...createSlackLiveActivities(deps.slackLive),
    // The schedule workflow's: handoff notices and gap warnings.
    ...createScheduleNoticeActivities({
      config: deps.config,
      adjustments: adjustmentsSource(scheduleStore),
      incidents: deps.documentation.store ?? new LocalFolderStore(deps.documentation.dir),
      notify: (notification) => notifications.notify(notification),
      ...(deps.config.api.publicUrl ? { publicUrl: deps.config.api.publicUrl } : {}),
    }),
    // Diagnostics go beside the record, in the same incident folder.
    ...createDiagnosticsActivities({
      config: deps.config.diagnostics,
      ...(deps.diagnosticsCredentials ? { credentials: deps.diagnosticsCredentials } : {}),
      dir: deps.documentation.dir,
      ...(deps.documentation.store ? { store: deps.documentation.store } : {}),
    }),
  };
}

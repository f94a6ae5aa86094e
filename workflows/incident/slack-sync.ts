/**
 * Keeps the incident's live Slack messages current: whenever the timeline grew, the
 * messages are updated and the new events told in the team message's thread. Changes that
 * come while a sync is under way are merged into the next one. A worker without Slack (or
 * with live messages off) says so on the first sync, and nothing more is asked.
 */
import { condition, log, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { errorMessage, type ReadyIncident } from './incident-context';

type Activities = ReturnType<typeof createActivities>;

const { syncSlackMessages } = proxyActivities<Activities>({
  // Each Slack call is retried inside (429, 5xx) within its own budget.
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

export async function keepSlackCurrent(incident: ReadyIncident): Promise<void> {
  const { state, policy } = incident;
  const total = (): number => state.timelineTotal ?? state.timeline.length;
  const responders = Object.fromEntries(
    Object.entries(policy.responders).map(([id, r]) => [
      id,
      { name: r.name, ...(r.slackUserId ? { slackUserId: r.slackUserId } : {}) },
    ]),
  );
  let synced = -1;
  for (;;) {
    await condition(() => total() !== synced);
    const seen = total();
    const channels = [
      { channel: policy.team.channel, level3: false },
      ...(state.handover ? [{ channel: policy.team.level3Channel, level3: true }] : []),
    ];
    incident.slackSyncing = true;
    try {
      const result = await syncSlackMessages({
        record: state,
        channels,
        messages: state.slack?.messages ?? [],
        threadSeq: state.slack?.threadSeq ?? 0,
        responders,
      });
      if (!result.configured) {
        incident.slackDone = true;
        return;
      }
      state.slack = { messages: result.messages, threadSeq: result.threadSeq };
    } catch (err) {
      // Not on the timeline: that would be a change to sync, and so a loop.
      log.warn('the live Slack messages could not be kept current', { error: errorMessage(err) });
    } finally {
      incident.slackSyncing = false;
    }
    synced = seen;
    if (state.phase === 'closed' && total() === synced) {
      incident.slackDone = true;
      return;
    }
  }
}

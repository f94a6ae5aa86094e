/**
 * Pages people received, for the fairness report: the `paged` events in the timelines of a
 * team's incidents, read from the incident store. It reads every incident folder's
 * record.json and the timelines of the team's incidents that were open in the window: fine
 * for a report asked for now and then, not for every request.
 */
import type { IncidentStore } from '../activities/store/incident-store';
import type { Page } from '../schedules/fairness';

const TIMELINE = 'timeline.jsonl';

interface RecordHead {
  team?: unknown;
  openedAt?: unknown;
  closedAt?: unknown;
}

interface PagedEvent {
  kind?: unknown;
  at?: unknown;
  details?: { to?: unknown };
}

async function recordHead(store: IncidentStore, incident: string): Promise<RecordHead | undefined> {
  const content = await store.read(incident, 'record.json');
  if (!content) return undefined;
  try {
    return JSON.parse(content.toString('utf8')) as RecordHead;
  } catch {
    return undefined;
  }
}

/** Whether an incident opened at `openedAt` (and closed at `closedAt`, if it did) overlaps [from, to). */
function openDuring(head: RecordHead, from: number, to: number): boolean {
  const opened = typeof head.openedAt === 'string' ? Date.parse(head.openedAt) : NaN;
  const closed = typeof head.closedAt === 'string' ? Date.parse(head.closedAt) : NaN;
  if (!Number.isNaN(opened) && opened >= to) return false;
  if (!Number.isNaN(closed) && closed < from) return false;
  return true;
}

/** Every page sent to a responder in [from, to) by the incidents of `team`, one per person paged. */
export async function pagesOfTeam(
  store: IncidentStore,
  team: string,
  from: number,
  to: number,
): Promise<Page[]> {
  const pages: Page[] = [];
  // Each opening of an incident has its own folder and timeline: every one counts.
  for (const incident of await store.incidents()) {
    const head = await recordHead(store, incident);
    if (!head || head.team !== team || !openDuring(head, from, to)) continue;
    for await (const line of store.lines(incident, TIMELINE)) {
      // Most events are not pages: skip them before parsing.
      if (!line.includes('"paged"')) continue;
      let event: PagedEvent;
      try {
        event = JSON.parse(line) as PagedEvent;
      } catch {
        continue;
      }
      if (event.kind !== 'paged' || typeof event.at !== 'string') continue;
      const at = Date.parse(event.at);
      const targets = event.details?.to;
      if (Number.isNaN(at) || at < from || at >= to || !Array.isArray(targets)) continue;
      for (const member of targets) if (typeof member === 'string') pages.push({ member, at });
    }
  }
  return pages;
}

/**
 * Resolves a paging step's `schedule:<id>` targets to the people on call at the moment the
 * step pages: the configured rotations with their overrides and time off, configured and
 * stored (activities/store/schedule-store.ts). The workflow records the answer, so a replay
 * pages the same people whatever the schedule says by then.
 */
import type { BatonConfig } from '../config/schema';
import { nextOnCall, onCallAt } from '../schedules/shifts';
import { scheduleTargetOf } from '../schedules/targets';
import type { Adjustments, ScheduleConfig } from '../schedules/types';
import type { PageTargetsRequest, PagingGap, ResolvedTargets } from '../workflows/incident/page-targets';
import { adjustmentsFor, type ScheduleStore } from './store/schedule-store';

export type { PageTargetsRequest, ResolvedTargets } from '../workflows/incident/page-targets';

/** What changes a schedule's rotations now: the configured adjustments, and the stored ones when there is a store. */
export type AdjustmentsSource = (schedule: ScheduleConfig) => Promise<Adjustments>;

export function adjustmentsSource(store?: ScheduleStore): AdjustmentsSource {
  if (store) return (schedule) => adjustmentsFor(schedule, store);
  return (schedule) => Promise.resolve({ overrides: schedule.overrides, timeOff: schedule.timeOff });
}

const GAP_REASONS = { 'no-layer': 'no rotation applies', 'time-off': 'time off' } as const;

/**
 * Who a step pages at `at`: people named directly as they are, each schedule's member on
 * call (or the next one in line for `:next`), deduplicated in the step's order. A schedule
 * with nobody is a gap with its reason, never an error: the workflow falls through.
 */
export async function resolveTargets(
  config: BatonConfig,
  adjustments: AdjustmentsSource,
  request: PageTargetsRequest,
): Promise<ResolvedTargets> {
  const resolved: ResolvedTargets = { responders: [], because: {}, schedules: {}, gaps: [] };
  const add = (id: string): boolean => {
    if (resolved.responders.includes(id)) return false;
    resolved.responders.push(id);
    return true;
  };
  const gap = (g: PagingGap): void => {
    if (!resolved.gaps.some((x) => x.schedule === g.schedule && x.reason === g.reason)) resolved.gaps.push(g);
  };
  for (const target of request.targets) {
    const named = scheduleTargetOf(target);
    if (!named) {
      add(target);
      continue;
    }
    const schedule = config.schedules.find((s) => s.id === named.schedule);
    // The configuration checks both at start-up; an incident older than a configuration change may still name them.
    if (!schedule) {
      gap({ schedule: named.schedule, name: named.schedule, reason: 'no such schedule any more' });
      continue;
    }
    if (schedule.team !== request.team) {
      gap({ schedule: schedule.id, name: schedule.name, reason: `it belongs to team ${schedule.team}` });
      continue;
    }
    const member = onCall(schedule, await adjustments(schedule), request.at, named.next);
    if (typeof member !== 'string') {
      gap({ schedule: schedule.id, name: schedule.name, reason: member.reason });
      continue;
    }
    // A person named directly and on call too is paged once, as named.
    if (add(member)) {
      resolved.because[member] = `${named.next ? 'next on call' : 'on call'} for ${schedule.name}`;
      resolved.schedules[member] = schedule.id;
    }
  }
  return resolved;
}

function onCall(
  schedule: ScheduleConfig,
  adjustments: Adjustments,
  at: number,
  next: boolean,
): string | { reason: string } {
  try {
    if (next) {
      const shift = nextOnCall(schedule, adjustments, at);
      return shift ? shift.member : { reason: 'nobody is next in line within 400 days' };
    }
    const segment = onCallAt(schedule, adjustments, at);
    return segment.kind === 'shift' ? segment.member : { reason: GAP_REASONS[segment.reason] };
  } catch (err) {
    // A schedule the arithmetic refuses pages nobody rather than failing the page.
    return { reason: err instanceof Error ? err.message : String(err) };
  }
}

export function createPageTargetActivities(config: BatonConfig, store?: ScheduleStore) {
  const adjustments = adjustmentsSource(store);
  return {
    /** Who a step pages now; retried on a store that cannot be read. */
    async resolvePageTargets(request: PageTargetsRequest): Promise<ResolvedTargets> {
      return resolveTargets(config, adjustments, request);
    },
  };
}

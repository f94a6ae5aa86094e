/**
 * Who the demo schedule has on call, for tests that run the demo configuration on today's
 * clock: its first paging step names `schedule:payments-l2` (alice and bob, weekly), so a
 * test that needs one of them paged first pins them with an override, as an operator would.
 */
import { expect } from 'vitest';
import type { BatonConfig } from '../../config/schema';
import { onCallAt } from '../../schedules/shifts';

export const DEMO_SCHEDULE = 'payments-l2';
const DAY_MS = 86_400_000;

/** An override that makes `member` the one on call from a day ago until a week from now. */
export function pinnedOverride(
  member: string,
  at = Date.now(),
): { member: string; from: number; to: number } {
  return { member, from: at - DAY_MS, to: at + 7 * DAY_MS };
}

/** The demo configuration's YAML with `member` pinned on call for the demo schedule. */
export function pinOnCallInYaml(yaml: string, member: string): string {
  const { from, to } = pinnedOverride(member);
  const layers = /^( {4}layers:\n {6}- \{ members: \[alice, bob\].*\n)/m;
  expect(yaml).toMatch(layers);
  return yaml.replace(
    layers,
    `$1    overrides: [{ member: ${member}, from: '${new Date(from).toISOString()}', to: '${new Date(to).toISOString()}' }]\n`,
  );
}

/** A parsed configuration with `member` pinned on call for `schedule`. */
export function pinOnCall(config: BatonConfig, member: string, schedule = DEMO_SCHEDULE): BatonConfig {
  const found = config.schedules.find((s) => s.id === schedule);
  if (!found) throw new Error(`the configuration has no schedule ${schedule}`);
  found.overrides.push(pinnedOverride(member));
  return config;
}

/** Who `schedule` has on call now, by its configured rotations and adjustments. */
export function onCallNow(config: BatonConfig, schedule = DEMO_SCHEDULE): string | undefined {
  const found = config.schedules.find((s) => s.id === schedule);
  if (!found) return undefined;
  const segment = onCallAt(found, { overrides: found.overrides, timeOff: found.timeOff }, Date.now());
  return segment.kind === 'shift' ? segment.member : undefined;
}

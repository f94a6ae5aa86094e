import { parseConfig } from '../../config/load';
import type { BatonConfig, BatonConfigInput } from '../../config/schema';

/**
 * A team like the demo's, with every duration long enough not to fire during a test.
 * Each test shortens the durations it exercises.
 */
export function testConfigInput(): BatonConfigInput {
  return {
    dataDir: './data',
    responders: [
      {
        id: 'alice',
        name: 'Alice Ng',
        level: 'L2',
        email: 'alice@example.com',
        slackUserId: 'U01ALICE',
        tokenEnv: 'TOKEN_ALICE',
      },
      {
        id: 'bob',
        name: 'Bob Okafor',
        level: 'L2',
        email: 'bob@example.com',
        slackUserId: 'U01BOB',
        tokenEnv: 'TOKEN_BOB',
      },
      {
        id: 'carol',
        name: 'Carol Diaz',
        level: 'L3',
        email: 'carol@example.com',
        slackUserId: 'U01CAROL',
        tokenEnv: 'TOKEN_CAROL',
      },
      { id: 'erin', name: 'Erin Park', level: 'L3', email: 'erin@example.com', slackUserId: 'U01ERIN' },
      {
        id: 'dave',
        name: 'Dave Ross',
        level: 'manager',
        email: 'dave@example.com',
        slackUserId: 'U01DAVE',
        tokenEnv: 'TOKEN_DAVE',
      },
    ],
    teams: [
      {
        id: 'payments',
        name: 'Payments',
        slack: { channel: '#payments-incidents', level3Channel: '#payments-l3' },
        escalation: {
          steps: [
            { notify: ['alice'], ackTimeout: '1h' },
            { notify: ['bob'], ackTimeout: '1h' },
            { notify: ['dave'], ackTimeout: '1h' },
          ],
          repeat: 1,
        },
        level3: [
          { notify: ['carol'], acceptTimeout: '1h' },
          { notify: ['erin'], acceptTimeout: '1h' },
        ],
        stakeholders: {
          internal: [{ slack: '#payments-status' }, { email: 'payments-leads@example.com' }],
          external: { email: ['status-subscribers@example.com'], approvers: ['dave'] },
        },
      },
    ],
    routes: [
      { match: { service: 'payments', severity: 'critical' }, team: 'payments', severity: 'SEV1' },
      { match: { service: 'payments' }, team: 'payments', severity: 'SEV3' },
      { default: true, team: 'payments', severity: 'SEV4' },
    ],
    severities: {
      SEV1: { assessWithin: '1h', stakeholderUpdateEvery: '1h', nudgeEscalationAfter: '1h' },
      SEV2: { assessWithin: '1h', stakeholderUpdateEvery: '1h', nudgeEscalationAfter: '1h' },
      SEV3: { assessWithin: '1h', stakeholderUpdateEvery: '1h', nudgeEscalationAfter: '1h' },
      SEV4: { assessWithin: '1h', stakeholderUpdateEvery: '1h', nudgeEscalationAfter: '1h' },
    },
    followUps: {
      reportDue: '2d',
      lessonsDue: '5d',
      trainingDue: '14d',
      remindBefore: '1d',
      overdueNotify: ['dave'],
    },
    autoResolveWhenAlertsClear: 'unacknowledged-only',
    runbooks: {
      HighLatency: { url: 'https://runbooks.example.com/high-latency', steps: ['check the last deploy'] },
    },
  };
}

/** Report, lessons and training for every severity: for tests of the whole post-incident process. */
export const EVERY_FOLLOW_UP = {
  SEV1: ['report', 'lessons', 'training'],
  SEV2: ['report', 'lessons', 'training'],
  SEV3: ['report', 'lessons', 'training'],
  SEV4: ['report', 'lessons', 'training'],
} satisfies NonNullable<BatonConfigInput['followUps']['bySeverity']>;

export function testConfig(change?: (input: BatonConfigInput) => void): BatonConfig {
  const input = testConfigInput();
  change?.(input);
  return parseConfig(input, 'test configuration');
}

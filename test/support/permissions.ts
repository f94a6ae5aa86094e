/**
 * Who may take which step, as the README's permission table says it: one table, driven
 * through the workflow's rules directly (test/unit/permissions.test.ts) and through the API
 * (test/permissions.test.ts), so that both answer the same.
 *
 * The incident belongs to team payments. Its people: alice (Level 2), carol (Level 3), dave
 * (manager) and bob (Level 2, who acknowledged and so holds it: the owner; action items are
 * his too). Team checkout has frank (Level 2) and grace (manager); oscar is a manager who
 * oversees every team.
 */
import type { BatonConfigInput } from '../../config/schema';

export const ACTORS = {
  l2: 'alice',
  l3: 'carol',
  manager: 'dave',
  owner: 'bob',
  otherL2: 'frank',
  otherManager: 'grace',
  overseer: 'oscar',
} as const;
export type ActorKind = keyof typeof ACTORS;

export const EXTRA_TOKENS = {
  TOKEN_FRANK: 'frank-test-token',
  TOKEN_GRACE: 'grace-test-token',
  TOKEN_OSCAR: 'oscar-test-token',
};

/** Adds team checkout, its people, and the overseeing manager to the test configuration. */
export function withTwoTeams(c: BatonConfigInput): void {
  c.responders.push(
    { id: 'frank', name: 'Frank Li', level: 'L2', email: 'frank@example.com', tokenEnv: 'TOKEN_FRANK' },
    {
      id: 'grace',
      name: 'Grace Hall',
      level: 'manager',
      email: 'grace@example.com',
      tokenEnv: 'TOKEN_GRACE',
    },
    { id: 'hank', name: 'Hank Moss', level: 'L3', email: 'hank@example.com' },
    {
      id: 'oscar',
      name: 'Oscar Vance',
      level: 'manager',
      email: 'oscar@example.com',
      tokenEnv: 'TOKEN_OSCAR',
      allTeams: true,
    },
  );
  c.teams.push({
    id: 'checkout',
    name: 'Checkout',
    slack: { channel: '#checkout-incidents', level3Channel: '#checkout-l3' },
    escalation: {
      steps: [
        { notify: ['frank'], ackTimeout: '1h' },
        { notify: ['grace'], ackTimeout: '1h' },
      ],
      repeat: 1,
    },
    level3: [{ notify: ['hank'], acceptTimeout: '1h' }],
  });
  c.routes.unshift({ match: { service: 'checkout' }, team: 'checkout', severity: 'SEV3' });
}

/** Where the incident must stand before the step is tried. */
export type Setup = 'triggered' | 'acknowledged' | 'drafted' | 'escalated' | 'resolved' | 'lessons';

/** Steps a privileged person takes to bring a fresh incident to a setup. */
export const SETUPS: Record<Setup, { step: string; actor: string; input: Record<string, unknown> }[]> = {
  triggered: [],
  acknowledged: [{ step: 'acknowledge', actor: 'bob', input: {} }],
  drafted: [
    { step: 'acknowledge', actor: 'bob', input: {} },
    { step: 'draftCustomerMessage', actor: 'bob', input: { message: 'Payments are slow; we are on it' } },
  ],
  escalated: [
    { step: 'acknowledge', actor: 'bob', input: {} },
    { step: 'escalate', actor: 'bob', input: { reason: 'needs the database experts' } },
  ],
  resolved: [
    { step: 'acknowledge', actor: 'bob', input: {} },
    { step: 'resolve', actor: 'bob', input: { summary: 'restarted the pool' } },
  ],
  lessons: [
    { step: 'acknowledge', actor: 'bob', input: {} },
    { step: 'resolve', actor: 'bob', input: { summary: 'restarted the pool' } },
    {
      step: 'recordLessons',
      actor: 'dave',
      input: {
        lessons: ['pool too small'],
        actionItems: [{ title: 'Size the pool', owner: 'bob', dueDate: '2027-01-31' }],
      },
    },
  ],
};

type Answer = 200 | 403 | 404 | 409;

export interface PermissionCase {
  /** The workflow update's name; the API's route is `api`. */
  step: string;
  api: string;
  setup: Setup;
  input: Record<string, unknown>;
  /** What each kind of actor is answered. */
  expected: Record<ActorKind, Answer>;
}

const members = (l2: Answer, l3: Answer, manager: Answer, owner: Answer): Record<ActorKind, Answer> => ({
  l2,
  l3,
  manager,
  owner,
  otherL2: 404,
  otherManager: 404,
  overseer: manager,
});

/** The README's permission table, row by row. */
export const PERMISSIONS: PermissionCase[] = [
  {
    step: 'acknowledge',
    api: 'acknowledge',
    setup: 'triggered',
    input: {},
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'assess',
    api: 'assessment',
    setup: 'acknowledged',
    input: { severity: 'SEV2', urgency: 'high', impact: 'EU checkout', observations: 'pool exhausted' },
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'recordAction',
    api: 'actions',
    setup: 'acknowledged',
    input: { kind: 'restart', description: 'restarted the pool', result: 'errors down' },
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'escalate',
    api: 'escalate',
    setup: 'acknowledged',
    input: { reason: 'needs the database experts' },
    expected: members(200, 403, 200, 200),
  },
  {
    step: 'acceptHandover',
    api: 'handover',
    setup: 'escalated',
    input: { notes: 'taking it' },
    expected: members(403, 200, 200, 403),
  },
  {
    step: 'communicate',
    api: 'communications',
    setup: 'acknowledged',
    input: { audience: 'internal', message: 'We are on it' },
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'communicate',
    api: 'communications',
    setup: 'acknowledged',
    input: { audience: 'external', message: 'Payments are slow; we are on it' },
    // Only the team's approvers speak to customers: oscar oversees, but does not approve.
    expected: { ...members(403, 403, 200, 403), overseer: 403 },
  },
  {
    step: 'draftCustomerMessage',
    api: 'customer-messages',
    setup: 'acknowledged',
    input: { message: 'Payments are slow; we are on it' },
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'approveCustomerMessage',
    api: 'customer-messages/customer-1/approve',
    setup: 'drafted',
    input: {},
    expected: { ...members(403, 403, 200, 403), overseer: 403 },
  },
  {
    step: 'rejectCustomerMessage',
    api: 'customer-messages/customer-1/reject',
    setup: 'drafted',
    input: { reason: 'say when the next update comes' },
    expected: { ...members(403, 403, 200, 403), overseer: 403 },
  },
  {
    step: 'requireFollowUp',
    api: 'follow-ups',
    setup: 'acknowledged',
    input: { kind: 'training', reason: 'new people on the rota' },
    expected: members(403, 403, 200, 403),
  },
  {
    step: 'resolve',
    api: 'resolve',
    setup: 'acknowledged',
    input: { summary: 'restarted the pool' },
    expected: members(200, 200, 200, 200),
  },
  {
    step: 'submitReport',
    api: 'report',
    setup: 'resolved',
    input: {
      summary: 'The pool ran out',
      rootCause: 'pool size',
      actionsAndResults: 'restart: errors down',
      recommendations: 'size the pool',
    },
    expected: members(403, 200, 200, 200),
  },
  {
    step: 'recordLessons',
    api: 'lessons',
    setup: 'resolved',
    input: { lessons: ['pool too small'] },
    expected: members(403, 200, 200, 200),
  },
  {
    step: 'completeActionItem',
    api: 'action-items',
    setup: 'lessons',
    input: { note: 'done' },
    expected: members(403, 403, 200, 200),
  },
  {
    step: 'recordTraining',
    api: 'training',
    setup: 'resolved',
    input: { date: '2026-12-01', attendees: ['alice', 'bob'], material: 'pool sizing' },
    expected: members(403, 403, 200, 403),
  },
  {
    step: 'confirmTraining',
    api: 'training/confirmations',
    setup: 'resolved',
    input: {},
    // Each member confirms for themselves; a manager overseeing every team is not among them.
    expected: { ...members(200, 200, 200, 200), overseer: 409 },
  },
  {
    step: 'excuseTraining',
    api: 'training/excusals',
    setup: 'resolved',
    input: { member: 'alice', reason: 'on leave' },
    expected: members(403, 403, 200, 403),
  },
  {
    step: 'waiveFollowUp',
    api: 'waivers',
    setup: 'resolved',
    input: { followUpId: 'training', reason: 'covered by last month’s session' },
    expected: members(403, 403, 200, 403),
  },
];

/** A readable name for one cell of the table. */
export function cellName(c: PermissionCase, kind: ActorKind): string {
  const variant = typeof c.input.audience === 'string' ? ` (${c.input.audience})` : '';
  return `${c.step}${variant} by ${kind} (${ACTORS[kind]}) → ${c.expected[kind]}`;
}

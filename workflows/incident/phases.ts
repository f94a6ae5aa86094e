/**
 * The incident's phases as one transition table: which move takes the incident from which
 * phase to which. The workflow changes `state.phase` only through `phaseAfter`, so this
 * table is the whole state machine; the rules (rules.ts) say which moves a person may make.
 *
 * Resolution is an event, not a phase: resolving moves an open incident straight into
 * post-incident, where its follow-ups are enforced.
 */
import type { Phase } from './model';

/** The moves that change the phase; every other step leaves it where it is. */
export const MOVES = [
  'acknowledge',
  'assess',
  'recordAction',
  'escalate',
  'acceptHandover',
  'resolve',
  'reopen',
  'close',
] as const;
export type Move = (typeof MOVES)[number];

export const TRANSITIONS: Readonly<Record<Move, Partial<Readonly<Record<Phase, Phase>>>>> = {
  acknowledge: { triggered: 'acknowledged' },
  // A later assessment (a new severity) leaves an incident in mitigation where it is.
  assess: { acknowledged: 'assessed' },
  recordAction: { acknowledged: 'mitigating', assessed: 'mitigating' },
  escalate: { acknowledged: 'escalated', assessed: 'escalated', mitigating: 'escalated' },
  acceptHandover: { escalated: 'collaborating' },
  resolve: {
    triggered: 'post-incident',
    acknowledged: 'post-incident',
    assessed: 'post-incident',
    mitigating: 'post-incident',
    escalated: 'post-incident',
    collaborating: 'post-incident',
  },
  // Alerts fired again before the follow-ups were done: the incident is back.
  reopen: { 'post-incident': 'triggered' },
  close: { 'post-incident': 'closed' },
};

/** The phase after `move`; the same phase when the move does not change it from there. */
export function phaseAfter(phase: Phase, move: Move): Phase {
  return TRANSITIONS[move][phase] ?? phase;
}

/** Phases in which the incident is still being worked on (before resolution). */
export const OPEN_PHASES: readonly Phase[] = Object.keys(TRANSITIONS.resolve) as Phase[];

export function isOpenPhase(phase: Phase): boolean {
  return OPEN_PHASES.includes(phase);
}

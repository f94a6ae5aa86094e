import { describe, expect, it } from 'vitest';
import { PHASES, type Phase } from '../../workflows/incident/model';
import { MOVES, OPEN_PHASES, TRANSITIONS, isOpenPhase, phaseAfter } from '../../workflows/incident/phases';

describe('the phase transition table', () => {
  it('walks the whole process from triggered to closed', () => {
    const path: Phase[] = ['triggered'];
    for (const move of [
      'acknowledge',
      'assess',
      'recordAction',
      'escalate',
      'acceptHandover',
      'resolve',
      'close',
    ] as const) {
      path.push(phaseAfter(path[path.length - 1] ?? 'triggered', move));
    }
    expect(path).toEqual([
      'triggered',
      'acknowledged',
      'assessed',
      'mitigating',
      'escalated',
      'collaborating',
      'post-incident',
      'closed',
    ]);
  });

  it('reaches every phase from triggered', () => {
    const reached = new Set<Phase>(['triggered']);
    for (let grew = true; grew;) {
      grew = false;
      for (const phase of [...reached]) {
        for (const move of MOVES) {
          const next = phaseAfter(phase, move);
          if (!reached.has(next)) {
            reached.add(next);
            grew = true;
          }
        }
      }
    }
    expect([...reached].sort()).toEqual([...PHASES].sort());
  });

  it('names only real phases, and resolution is not one of them', () => {
    for (const move of MOVES) {
      for (const [from, to] of Object.entries(TRANSITIONS[move])) {
        expect(PHASES).toContain(from);
        expect(PHASES).toContain(to);
      }
    }
    expect(PHASES).not.toContain('resolved');
  });

  it('lets nothing leave closed, and only close enter it', () => {
    for (const move of MOVES) expect(phaseAfter('closed', move)).toBe('closed');
    for (const move of MOVES.filter((m) => m !== 'close')) {
      for (const phase of PHASES.filter((p) => p !== 'closed')) {
        expect(phaseAfter(phase, move)).not.toBe('closed');
      }
    }
    expect(phaseAfter('triggered', 'close')).toBe('triggered');
  });

  it('keeps a later assessment or action from moving an escalated incident back', () => {
    expect(phaseAfter('escalated', 'assess')).toBe('escalated');
    expect(phaseAfter('collaborating', 'recordAction')).toBe('collaborating');
    expect(phaseAfter('mitigating', 'assess')).toBe('mitigating');
  });

  it('counts the phases before resolution as open', () => {
    expect(OPEN_PHASES).toEqual([
      'triggered',
      'acknowledged',
      'assessed',
      'mitigating',
      'escalated',
      'collaborating',
    ]);
    expect(isOpenPhase('post-incident')).toBe(false);
    expect(isOpenPhase('closed')).toBe(false);
  });
});

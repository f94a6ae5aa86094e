import { policyFor, teamById } from '../../config/policy';
import type { BatonConfigInput } from '../../config/schema';
import { Incident, openIncident, type ReadyIncident } from '../../workflows/incident/incident-context';
import type { Alert } from '../../workflows/incident/model';
import { refusalOf, type Envelope, type Step } from '../../workflows/incident/step';
import { steps } from '../../workflows/incident/steps';
import type { Refusal } from '../../workflows/incident/rules';
import type { IncidentInput, TimelineEvent, TimelineKind } from '../../workflows/incident/state';
import { testConfig } from '../support/config';

/**
 * An incident as the workflow holds it, without a workflow: the demo-like test team's
 * policy and a fresh record, so steps, duties and rules run as plain functions.
 */
export function plainIncident(
  options: { input?: Partial<IncidentInput>; config?: (c: BatonConfigInput) => void } = {},
): ReadyIncident {
  const config = testConfig(options.config);
  const policy = policyFor(config, teamById(config, 'payments'));
  const input: IncidentInput = {
    title: 'Payments API error rate above 5%',
    service: 'payments',
    severity: 'SEV2',
    origin: { kind: 'manual', declaredBy: 'alice' },
    policy,
    ...options.input,
  };
  const state = openIncident(input, { workflowId: 'inc-unit', startTime: new Date('2026-11-26T10:00:00Z') });
  const incident = new Incident(state, policy);
  if (!incident.ready()) throw new Error('the plain incident has a policy');
  return incident;
}

let counter = 0;
/**
 * Takes one step as the workflow would: the rule first, and only an allowed step is applied.
 * Returns the refusal, if any.
 */
export function take(
  incident: ReadyIncident,
  name: string,
  input: Record<string, unknown>,
): Refusal | undefined {
  const step = steps.find((s) => s.update.name === name) as Step<Envelope, unknown> | undefined;
  if (!step) throw new Error(`no step "${name}"`);
  counter += 1;
  const parsed = step.schema().parse({ requestId: `unit-${counter}`, ...input });
  const refusal = refusalOf(step, incident, parsed);
  // A step that waits for an activity (who is on call) finishes only inside a workflow; the
  // unit tests take the steps that act at once.
  if (!refusal) void step.apply(incident, parsed);
  return refusal;
}

export function events(incident: ReadyIncident, kind: TimelineKind): TimelineEvent[] {
  return incident.state.timeline.filter((e) => e.kind === kind);
}

export function firing(name: string, fingerprint: string): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: { alertname: name, service: 'payments' },
    annotations: { summary: `${name} is firing` },
    startsAt: '2026-11-26T10:00:00Z',
  };
}

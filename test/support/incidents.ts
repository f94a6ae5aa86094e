import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { policyFor, teamById } from '../../config/policy';
import { incidentWorkflow } from '../../workflows/incident/incident';
import { stateQuery } from '../../workflows/incident/messages';
import type { Alert, Severity } from '../../workflows/incident/model';
import type { IncidentInput, IncidentState } from '../../workflows/incident/state';
import { eventually, type TestWorker } from './worker';

export type IncidentHandle = WorkflowHandle<typeof incidentWorkflow>;

export function alert(name: string, fingerprint: string, labels: Record<string, string> = {}): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: { alertname: name, service: 'payments', ...labels },
    annotations: { summary: `${name} is firing` },
    startsAt: '2026-11-26T10:00:00Z',
    generatorURL: `http://prometheus.example/graph?g0.expr=${name}`,
  };
}

/**
 * Starts an incident of team payments as the API does (with the policy of the worker's own
 * configuration, which the workflow checks against it), and waits until it is open: its
 * first task has taken the policy and paged, and the diagnostics of its alerts are on the
 * record, so a test's "before" is the incident as opened.
 */
export async function startIncident(
  w: TestWorker,
  options: {
    severity?: Severity;
    alerts?: Alert[];
    input?: Partial<IncidentInput>;
  } = {},
): Promise<IncidentHandle> {
  const config = w.config;
  const alerts = options.alerts ?? [];
  const input: IncidentInput = {
    title: 'Payments API error rate above 5%',
    service: 'payments',
    severity: options.severity ?? 'SEV2',
    origin: alerts.length
      ? { kind: 'alertmanager', receiver: 'baton', groupKey: `{}:{alertname="x"}`, groupLabels: {} }
      : { kind: 'manual', declaredBy: 'alice' },
    alerts,
    policy: policyFor(config, teamById(config, 'payments')),
    ...options.input,
  };
  const handle = await w.client.workflow.start(incidentWorkflow, {
    taskQueue: w.taskQueue,
    workflowId: `incident-test-${randomUUID()}`,
    args: [input],
  });
  // Opened means its alerts' diagnostics are in too (they follow the page within moments
  // here): a test's "before" does not gain their events afterwards.
  await eventually(async () => {
    const s = await state(handle);
    const diagnosed = s.alerts.length === 0 || !s.diagnostics || s.diagnostics.length > 0;
    return s.timeline.length > 0 && diagnosed ? true : undefined;
  });
  return handle;
}

export function state(handle: IncidentHandle): Promise<IncidentState> {
  return handle.query(stateQuery);
}

/**
 * The whole record after a step, as the API answers it: a step's update answers a compact
 * summary only.
 */
export async function afterStep(handle: IncidentHandle, step: Promise<unknown>): Promise<IncidentState> {
  await step;
  return state(handle);
}

let counter = 0;
/** The envelope every message carries: the actor and a fresh request id. */
export function by(actor: string): { actor: string; requestId: string } {
  counter += 1;
  return { actor, requestId: `req-${Date.now()}-${counter}` };
}

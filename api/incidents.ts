import { createHash, randomUUID } from 'node:crypto';
import type { Client, WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { routeFor, teamMembers, teamsOf } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { incidentWorkflow } from '../workflows/incident/incident';
import {
  addNoteSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
  emailRefusedSignal,
  stateQuery,
} from '../workflows/incident/messages';
import type { Alert, Severity } from '../workflows/incident/model';
import {
  incidentAssigneeKey,
  incidentServiceKey,
  incidentSeverityKey,
  incidentStatusKey,
  incidentTeamKey,
} from '../workflows/incident/search-attributes';
import type { IncidentInput, IncidentState, StepResult } from '../workflows/incident/state';
import { chunkAlerts, fitAlert } from './alert-chunks';
import { DocumentStore } from './documents';
import { fromTemporal, HttpError } from './errors';

export interface AlertGroup {
  receiver: string;
  /** Alerts Alertmanager left out of the group (its max_alerts). */
  truncatedAlerts?: number;
  groupKey: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL?: string;
  alerts: Alert[];
}

/** What became of an alert group: its incident, the signals it took, the alerts cut to fit. */
export interface AlertGroupOutcome {
  incidentId: string;
  signals: number;
  /** Fingerprints of alerts whose longest annotations were cut to fit a Temporal payload. */
  trimmed: string[];
}

export interface IncidentSummary {
  id: string;
  runId: string;
  title: string;
  status: string;
  severity: string;
  service: string;
  team: string;
  assignee: string;
  startedAt: string;
  closedAt?: string;
  /** Read from the incident store: Temporal no longer has its workflow. */
  archived?: boolean;
}

/** What the incident list filters on. */
export interface IncidentFilter {
  status?: string;
  severity?: string;
  service?: string;
  team?: string;
  assignee?: string;
  limit: number;
  /** `archived`: incidents whose workflow Temporal no longer has, from the store, after the others. */
  include?: 'archived' | 'archived-only';
}

/** Incidents asked of Temporal's visibility at once when checking which it still has. */
const KNOWN_BATCH = 50;

/**
 * How long a person waits for a step or a read before the API gives up: without a worker
 * (or with one failing the incident's workflow task) Temporal would keep the call open.
 */
const ANSWER_WITHIN_MS = 15_000;

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);
}

/** One alert group, one workflow id: re-sends, retries and HA twins all land on the same incident. */
export function alertGroupWorkflowId(receiver: string, groupKey: string): string {
  return `alertgroup-${digest(receiver, groupKey)}`;
}

/** Alertmanager numbers nothing; the content itself identifies a re-send of the same alerts. */
function requestIdOf(alerts: Alert[]): string {
  return `am-${digest(JSON.stringify(alerts.map((a) => [a.fingerprint, a.status, a.startsAt])))}`;
}

function keyword(info: WorkflowExecutionInfo, name: string): string {
  const value = info.searchAttributes[name];
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : '';
}

/** Everything the API asks of Temporal about incidents. */
export class IncidentService {
  /** The incident store, for incidents Temporal no longer has. */
  private readonly store: DocumentStore;

  constructor(
    private readonly client: Client,
    private readonly config: BatonConfig,
    private readonly answerWithinMs = ANSWER_WITHIN_MS,
    store?: DocumentStore,
  ) {
    this.store = store ?? new DocumentStore(config.dataDir);
  }

  private get taskQueue(): string {
    return this.config.temporal.taskQueue;
  }

  private uiLink(workflowId: string): string {
    const base = this.config.temporal.uiUrl.replace(/\/$/, '');
    return `${base}/namespaces/${encodeURIComponent(this.config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  private startOptions(workflowId: string, input: IncidentInput) {
    return {
      taskQueue: this.taskQueue,
      workflowId,
      memo: { title: input.title },
      staticSummary: `${input.severity ?? ''} ${input.title}`.trim(),
      // Listed at once with its attributes; the workflow keeps them current from then on.
      typedSearchAttributes: [
        { key: incidentStatusKey, value: 'triggered' },
        { key: incidentSeverityKey, value: input.severity ?? 'SEV4' },
        { key: incidentServiceKey, value: input.service },
        { key: incidentTeamKey, value: input.team ?? input.policy?.team.id ?? '' },
        { key: incidentAssigneeKey, value: 'unassigned' },
      ],
    };
  }

  /** A person declares an incident; the same Idempotency-Key from the same person declares it once. */
  async declare(
    actor: string,
    body: { title: string; service: string; severity?: Severity; description?: string; team?: string },
    idempotencyKey?: string,
  ): Promise<{ id: string }> {
    const route = routeFor(this.config, { service: body.service });
    let team = route.team;
    if (body.team) {
      const found = this.config.teams.find((t) => t.id === body.team);
      if (!found) throw new HttpError(400, `unknown team "${body.team}"`, 'InvalidInput');
      team = found;
    }
    // A responder declares incidents for the teams they are on (where they can then act).
    if (!this.canSee(team.id, actor)) {
      throw new HttpError(
        403,
        `${actor} is not on team ${team.id}${body.team ? '' : ` (where service ${body.service} routes)`}; name one of your teams`,
        'NotPermitted',
      );
    }
    const id = idempotencyKey
      ? `incident-${digest('declare', actor, idempotencyKey)}`
      : `incident-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomUUID().slice(0, 8)}`;
    const input: IncidentInput = {
      title: body.title,
      service: body.service,
      severity: body.severity ?? route.severity,
      ...(body.description ? { description: body.description } : {}),
      origin: { kind: 'manual', declaredBy: actor },
      alerts: [],
      // The team only: the workflow takes the team's policy from its worker's configuration,
      // so an API and workers a deploy apart still agree on every incident's rules.
      team: team.id,
      temporalUiUrl: this.uiLink(id),
    };
    try {
      await this.client.workflow.start(incidentWorkflow, {
        ...this.startOptions(id, input),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    } catch (err) {
      throw fromTemporal(err, id);
    }
    return { id };
  }

  /**
   * An Alertmanager notification: firing alerts start the group's incident or join it in one
   * call (signal-with-start); resolved alerts are recorded on an incident that exists and
   * open nothing. A group too large for one Temporal payload goes in chunks, each its own
   * signal to the same incident. A retry after a failure half-way sends every chunk again,
   * which changes nothing (the workflow takes each alert in once).
   */
  async ingestAlertGroup(group: AlertGroup): Promise<AlertGroupOutcome | undefined> {
    const workflowId = alertGroupWorkflowId(group.receiver, group.groupKey);
    const trimmed: string[] = [];
    const fitted = group.alerts.map((raw) => {
      const fit = fitAlert(raw);
      if (fit.trimmed.length > 0) trimmed.push(fit.alert.fingerprint);
      return fit.alert;
    });
    let firing = fitted.filter((a) => a.status === 'firing');
    const resolved = fitted.filter((a) => a.status === 'resolved');
    let signals = 0;
    const outcome = (): AlertGroupOutcome => ({ incidentId: workflowId, signals, trimmed });
    try {
      const fresh = await this.notSeenByClosedIncident(workflowId, firing);
      if (firing.length > 0 && fresh.length === 0) {
        // Alertmanager re-sending alerts the closed incident already had: nothing new.
        return undefined;
      }
      firing = fresh;
      if (firing.length > 0) {
        const labels = { ...(firing[0]?.labels ?? {}), ...group.commonLabels };
        const route = routeFor(this.config, labels);
        const service = labels.service ?? labels.job ?? 'unknown';
        // A summary annotation can be of any length; the title is a line.
        const title = (
          group.commonAnnotations.summary ??
          `${labels.alertname ?? 'Alert'} on ${service}${firing.length > 1 ? ` (${firing.length} alerts)` : ''}`
        ).slice(0, 300);
        // Every chunk starts the incident or joins it: one that closed in between does not
        // turn the rest of the group into a "not found".
        const chunks = chunkAlerts(firing);
        for (const [index, chunk] of chunks.entries()) {
          const input: IncidentInput = {
            title,
            service,
            severity: route.severity,
            origin: {
              kind: 'alertmanager',
              receiver: group.receiver,
              groupKey: group.groupKey,
              groupLabels: group.groupLabels,
              ...(group.externalURL ? { externalURL: group.externalURL } : {}),
            },
            alerts: chunk,
            labels,
            team: route.team.id,
            temporalUiUrl: this.uiLink(workflowId),
          };
          await this.client.workflow.signalWithStart(incidentWorkflow, {
            ...this.startOptions(workflowId, input),
            args: [input],
            signal: alertsFiredSignal,
            signalArgs: [
              {
                requestId: requestIdOf(chunk),
                alerts: chunk,
                // What Alertmanager's max_alerts left out, said once per notification.
                ...(index === 0 && group.truncatedAlerts ? { truncated: group.truncatedAlerts } : {}),
              },
            ],
          });
          signals += 1;
        }
      }
      const handle = this.client.workflow.getHandle(workflowId);
      for (const chunk of resolved.length > 0 ? chunkAlerts(resolved) : []) {
        try {
          await handle.signal(alertsResolvedSignal, { requestId: requestIdOf(chunk), alerts: chunk });
          signals += 1;
        } catch (err) {
          const mapped = fromTemporal(err, workflowId);
          // No open incident for the group: a resolved notification opens nothing.
          if (mapped instanceof HttpError && mapped.statusCode === 404) {
            return signals > 0 ? outcome() : undefined;
          }
          throw mapped;
        }
      }
    } catch (err) {
      throw fromTemporal(err, workflowId);
    }
    return outcome();
  }

  /**
   * Alertmanager keeps re-sending a firing alert on every repeat_interval. Once the group's
   * incident is closed, a re-send of an alert it already had must not open another one;
   * only alerts that fired anew (new fingerprint or start time) do.
   */
  private async notSeenByClosedIncident(workflowId: string, firing: Alert[]): Promise<Alert[]> {
    if (firing.length === 0) return firing;
    let status: string;
    let phase: unknown;
    try {
      const description = await this.client.workflow.getHandle(workflowId).describe();
      status = description.status.name;
      phase = description.searchAttributes[incidentStatusKey.name]?.[0];
    } catch (err) {
      const mapped = fromTemporal(err, workflowId);
      if (mapped instanceof HttpError && mapped.statusCode === 404) return firing;
      throw mapped;
    }
    if (status === 'RUNNING' && phase === 'closed') {
      // Closed, still writing its final record: alerts that fire now belong to a new
      // incident, which can open once this one has ended. Alertmanager retries a 503.
      throw new HttpError(
        503,
        'the incident of this alert group is closing; a retry opens a new incident once it has closed',
        'Closing',
      );
    }
    if (status !== 'COMPLETED') return firing;
    const closed = await this.client.workflow.getHandle<typeof incidentWorkflow>(workflowId).result();
    const known = new Set(closed.alerts.map((a) => `${a.fingerprint}|${a.startsAt}`));
    return firing.filter((a) => !known.has(`${a.fingerprint}|${a.startsAt}`));
  }

  /**
   * Whether a responder sees an incident of this team: its members and managers do, and the
   * managers who oversee every team. Everyone else is told there is no such incident.
   */
  canSee(team: string, responder: string): boolean {
    const config = this.config.responders.find((r) => r.id === responder);
    if (!config) return false;
    if (config.allTeams) return true;
    const found = this.config.teams.find((t) => t.id === team);
    return found !== undefined && teamMembers(this.config, found).includes(responder);
  }

  /** The teams whose incidents a responder sees; undefined for one who sees every team. */
  teamsVisibleTo(responder: string): string[] | undefined {
    if (this.config.responders.find((r) => r.id === responder)?.allTeams) return undefined;
    return teamsOf(this.config, responder);
  }

  async list(filter: IncidentFilter, viewer?: string): Promise<IncidentSummary[]> {
    if (filter.include === 'archived-only') return this.listArchived(filter, viewer, new Set());
    const live = await this.listLive(filter, viewer);
    if (filter.include !== 'archived' || live.length >= filter.limit) return live;
    const archived = await this.listArchived(filter, viewer, new Set(live.map((i) => i.id)));
    return [...live, ...archived.slice(0, filter.limit - live.length)];
  }

  private async listLive(filter: IncidentFilter, viewer?: string): Promise<IncidentSummary[]> {
    // A long incident continues as new; only its latest run speaks for it.
    const clauses = [`WorkflowType = 'incidentWorkflow'`, `ExecutionStatus != 'ContinuedAsNew'`];
    const teams = viewer === undefined ? undefined : this.teamsVisibleTo(viewer);
    if (teams) {
      if (teams.length === 0) return [];
      // Team ids are configuration ids: lower-case letters, digits, "-" and "_".
      clauses.push(`${incidentTeamKey.name} IN (${teams.map((t) => `'${t}'`).join(', ')})`);
    }
    // Values were checked to be plain words before they reach this query.
    if (filter.status) clauses.push(`${incidentStatusKey.name} = '${filter.status}'`);
    if (filter.severity) clauses.push(`${incidentSeverityKey.name} = '${filter.severity}'`);
    if (filter.service) clauses.push(`${incidentServiceKey.name} = '${filter.service}'`);
    if (filter.team) clauses.push(`${incidentTeamKey.name} = '${filter.team}'`);
    if (filter.assignee) clauses.push(`${incidentAssigneeKey.name} = '${filter.assignee}'`);
    const result: IncidentSummary[] = [];
    try {
      for await (const info of this.client.workflow.list({
        query: clauses.join(' AND '),
        pageSize: filter.limit,
      })) {
        result.push({
          id: info.workflowId,
          runId: info.runId,
          title: typeof info.memo?.title === 'string' ? info.memo.title : info.workflowId,
          status: keyword(info, incidentStatusKey.name),
          severity: keyword(info, incidentSeverityKey.name),
          service: keyword(info, incidentServiceKey.name),
          team: keyword(info, incidentTeamKey.name),
          assignee: keyword(info, incidentAssigneeKey.name),
          startedAt: info.startTime.toISOString(),
          ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
        });
        if (result.length >= filter.limit) break;
      }
    } catch (err) {
      throw fromTemporal(err);
    }
    return result;
  }

  /**
   * Incidents the store holds whose workflow Temporal no longer has (its retention ran out, or
   * it was deleted), filtered like the others, newest first. Which ones Temporal still has is
   * asked of its visibility in batches.
   */
  private async listArchived(
    filter: IncidentFilter,
    viewer: string | undefined,
    listed: Set<string>,
  ): Promise<IncidentSummary[]> {
    const teams = viewer === undefined ? undefined : this.teamsVisibleTo(viewer);
    const candidates = (await this.store.records()).filter(
      (r) =>
        !listed.has(r.id) &&
        (!teams || teams.includes(r.team)) &&
        (!filter.status || r.phase === filter.status) &&
        (!filter.severity || r.severity === filter.severity) &&
        (!filter.service || r.service === filter.service) &&
        (!filter.team || r.team === filter.team) &&
        (!filter.assignee || r.holder === filter.assignee),
    );
    const archived: IncidentSummary[] = [];
    for (let i = 0; i < candidates.length && archived.length < filter.limit; i += KNOWN_BATCH) {
      const batch = candidates.slice(i, i + KNOWN_BATCH);
      const known = new Set<string>();
      try {
        // Store ids are plain names (letters, digits, ".", "_", "-"): safe inside the quotes.
        const ids = batch.map((r) => `'${r.id}'`).join(', ');
        for await (const info of this.client.workflow.list({
          query: `WorkflowType = 'incidentWorkflow' AND WorkflowId IN (${ids})`,
        })) {
          known.add(info.workflowId);
        }
      } catch (err) {
        throw fromTemporal(err);
      }
      for (const r of batch) {
        if (known.has(r.id)) continue;
        archived.push({
          id: r.id,
          runId: '',
          title: r.title,
          status: r.phase,
          severity: r.severity,
          service: r.service,
          team: r.team,
          assignee: r.holder ?? '',
          startedAt: r.openedAt,
          ...(r.closedAt ? { closedAt: r.closedAt } : {}),
          archived: true,
        });
      }
    }
    return archived.slice(0, filter.limit);
  }

  /** The incident's record; as `viewer`, only an incident of a team they see (404 otherwise). */
  async get(id: string, viewer?: string): Promise<IncidentState> {
    let state: IncidentState;
    try {
      state = await this.client.withDeadline(Date.now() + this.answerWithinMs, () =>
        this.client.workflow.getHandle(id).query(stateQuery),
      );
    } catch (err) {
      throw fromTemporal(err, id);
    }
    if (viewer !== undefined && !this.canSee(state.team, viewer)) {
      throw new HttpError(404, `no incident "${id}"`, 'NotFound');
    }
    return state;
  }

  /**
   * Sends one step as a workflow update (the request id doubles as the update id) and
   * answers the whole record: the update itself answers a compact summary, so that the
   * incident's history does not keep a copy of the record per step.
   */
  async step<TArg>(
    id: string,
    update: UpdateDefinition<StepResult, [TArg]>,
    arg: TArg & { requestId: string },
  ): Promise<IncidentState> {
    await this.update(id, update, arg);
    return this.get(id, (arg as { actor?: unknown }).actor as string | undefined);
  }

  /** The step alone: its compact answer, without reading the whole record afterwards. */
  async update<TArg>(
    id: string,
    update: UpdateDefinition<StepResult, [TArg]>,
    arg: TArg & { requestId: string },
  ): Promise<StepResult> {
    const actor = (arg as { actor?: unknown }).actor;
    // Who may act is decided by the configuration in force now, before the step is sent: a
    // responder removed from the team is refused here even where the incident still counts
    // them (its workflow learns of the change when Baton starts: membership-sync.ts).
    if (typeof actor === 'string') await this.describeFor(id, actor);
    try {
      // The update id names the step too: Temporal answers a repeated update id with the
      // first result, so a key reused for another step must reach the workflow to be refused.
      const updateId = `${update.name}:${arg.requestId}`;
      return await this.client.withDeadline(Date.now() + this.answerWithinMs, () =>
        this.client.workflow.getHandle(id).executeUpdate(update, { args: [arg], updateId }),
      );
    } catch (err) {
      const mapped = fromTemporal(err, id);
      if (mapped instanceof HttpError && mapped.statusCode === 404) {
        throw await this.closedOrMissing(id, (arg as { actor?: unknown }).actor as string | undefined);
      }
      throw mapped;
    }
  }

  /** Notes are signals: accepted now, on the timeline as soon as the workflow runs. */
  async note(
    id: string,
    actor: string,
    text: string,
    requestId: string,
    source: 'api' | 'slack' | 'email' = 'api',
  ): Promise<void> {
    const description = await this.describeFor(id, actor);
    if (description.status.name !== 'RUNNING')
      throw new HttpError(409, 'the incident is closed', 'InvalidMove');
    try {
      await this.client.workflow.getHandle(id).signal(addNoteSignal, { actor, requestId, text, source });
    } catch (err) {
      throw fromTemporal(err, id);
    }
  }

  /**
   * The incident's workflow, if the actor is on its team as the configuration in force says;
   * to anyone else it does not exist (404), as for a read.
   */
  private async describeFor(id: string, actor: string): Promise<WorkflowExecutionDescription> {
    let description: WorkflowExecutionDescription;
    try {
      description = await this.client.withDeadline(Date.now() + this.answerWithinMs, () =>
        this.client.workflow.getHandle(id).describe(),
      );
    } catch (err) {
      throw fromTemporal(err, id);
    }
    const team = description.searchAttributes[incidentTeamKey.name]?.[0];
    if (typeof team === 'string' && !this.canSee(team, actor)) {
      throw new HttpError(404, `no incident "${id}"`, 'NotFound');
    }
    return description;
  }

  /**
   * Puts an email that failed authentication on the incident's timeline (nothing else
   * changes). A closed or unknown incident has no timeline to keep it: the caller logs it.
   */
  async recordRefusedEmail(
    id: string,
    refusal: { from: string; reason: string; requestId: string },
  ): Promise<void> {
    try {
      await this.client.workflow.getHandle(id).signal(emailRefusedSignal, refusal);
    } catch (err) {
      throw fromTemporal(err, id);
    }
  }

  /** An update to a finished workflow looks like "not found"; say which it is. */
  private async closedOrMissing(id: string, actor?: string): Promise<HttpError> {
    try {
      const description = await this.client.workflow.getHandle(id).describe();
      const team = description.searchAttributes[incidentTeamKey.name]?.[0];
      const hidden = actor !== undefined && typeof team === 'string' && !this.canSee(team, actor);
      if (!hidden && description.status.name !== 'RUNNING') {
        return new HttpError(
          409,
          `the incident is closed (${description.status.name.toLowerCase()})`,
          'InvalidMove',
        );
      }
    } catch {
      // Fall through: it really does not exist.
    }
    return new HttpError(404, `no incident "${id}"`, 'NotFound');
  }
}

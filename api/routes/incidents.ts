import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Secrets } from '../../config/secrets';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  assessUpdate,
  communicateUpdate,
  completeActionItemUpdate,
  confirmTrainingUpdate,
  excuseTrainingUpdate,
  requireFollowUpUpdate,
  escalateUpdate,
  recordActionUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  resolveUpdate,
  submitReportUpdate,
  waiveFollowUpUpdate,
} from '../../workflows/incident/messages';
import { idempotencyHeaders, registerStep, requestIdOf, stepOf, toView, type Step } from './step-support';
import { actorOf, requireResponder } from '../auth';
import type { IncidentService } from '../incidents';
import {
  actionItemParams,
  bodies,
  declareIncidentBody,
  errorResponse,
  incidentParams,
  incidentState,
  incidentSummary,
  listQuery,
} from '../schemas';

export const incidentRoutes =
  (deps: { secrets: Secrets; incidents: IncidentService }): FastifyPluginAsyncZod =>
  async (app) => {
    const { incidents } = deps;
    app.addHook('onRequest', requireResponder(deps.secrets));

    app.post(
      '/api/v1/incidents',
      {
        schema: {
          summary: 'Declare an incident by hand',
          tags: ['incidents'],
          headers: idempotencyHeaders,
          body: declareIncidentBody,
          response: {
            201: z.object({ id: z.string() }),
            400: errorResponse,
            401: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const key = request.headers['idempotency-key'];
        const result = await incidents.declare(
          actor.id,
          request.body,
          typeof key === 'string' ? key : undefined,
        );
        return reply.code(201).header('Location', `/api/v1/incidents/${result.id}`).send(result);
      },
    );

    app.get(
      '/api/v1/incidents',
      {
        schema: {
          summary: 'List incidents',
          description:
            "Filter by status (phase), severity, service, team and assignee. Only the caller's teams' incidents are listed (every team's for a manager with allTeams). include=archived adds, after them, incidents whose workflow Temporal no longer has, read from the incident store (archived: true); include=archived-only lists those alone.",
          tags: ['incidents'],
          querystring: listQuery,
          response: {
            200: z.object({ incidents: z.array(incidentSummary) }),
            400: errorResponse,
            401: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request) => ({ incidents: await incidents.list(request.query, actorOf(request).id) }),
    );

    app.get(
      '/api/v1/incidents/:id',
      {
        schema: {
          summary: 'One incident, as its workflow knows it',
          tags: ['incidents'],
          params: incidentParams,
          response: {
            200: incidentState,
            401: errorResponse,
            404: errorResponse,
            503: errorResponse,
            504: errorResponse,
          },
        },
      },
      async (request) => toView(await incidents.get(request.params.id, actorOf(request).id)),
    );

    const steps: Step[] = [
      stepOf('acknowledge', 'Acknowledge: take the incident', bodies.acknowledge, acknowledgeUpdate),
      stepOf(
        'assessment',
        'Initial assessment: severity, urgency, impact, observations',
        bodies.assessment,
        assessUpdate,
      ),
      stepOf('actions', 'Record an action taken and its result', bodies.action, recordActionUpdate),
      stepOf('escalate', 'Escalate to Level 3, with the reason', bodies.escalate, escalateUpdate),
      stepOf('handover', 'Level 3 accepts the handover', bodies.handover, acceptHandoverUpdate),
      stepOf(
        'communications',
        'Send an internal update, or an approved external message',
        bodies.communication,
        communicateUpdate,
      ),
      stepOf('resolve', 'Resolve, with a summary', bodies.resolve, resolveUpdate),
      stepOf('report', 'Submit the final report', bodies.report, submitReportUpdate),
      stepOf(
        'lessons',
        'Record lessons learned, process improvements and action items',
        bodies.lessons,
        recordLessonsUpdate,
      ),
      stepOf('training', 'Record a training session', bodies.training, recordTrainingUpdate),
      stepOf('waivers', 'Waive a follow-up (managers, with a reason)', bodies.waiver, waiveFollowUpUpdate),
      stepOf(
        'follow-ups',
        'Require a follow-up the severity does not ask for (managers, with a reason)',
        bodies.requireFollowUp,
        requireFollowUpUpdate,
      ),
      stepOf(
        'training/confirmations',
        'Confirm that you were trained on this incident',
        bodies.confirmTraining,
        confirmTrainingUpdate,
      ),
      stepOf(
        'training/excusals',
        'Excuse a team member from the training (managers, with a reason)',
        bodies.excuseTraining,
        excuseTrainingUpdate,
      ),
      stepOf(
        'action-items/:itemId/complete',
        'Complete an action item, or a process improvement (naming what changed)',
        bodies.completeActionItem,
        completeActionItemUpdate,
        actionItemParams,
      ),
    ];
    for (const definition of steps) registerStep(app, incidents, definition);

    app.post(
      '/api/v1/incidents/:id/notes',
      {
        schema: {
          summary: 'Add a note to the timeline',
          tags: ['steps'],
          headers: idempotencyHeaders,
          params: incidentParams,
          body: bodies.note,
          response: {
            202: z.object({ accepted: z.literal(true) }),
            400: errorResponse,
            401: errorResponse,
            404: errorResponse,
            409: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        await incidents.note(request.params.id, actor.id, request.body.text, requestIdOf(request, actor.id));
        return reply.code(202).send({ accepted: true as const });
      },
    );
  };

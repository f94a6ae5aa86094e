/**
 * Customer messages: anyone working the incident drafts one (the exact text, or the team's
 * notice template filled in), and a manager approves it, which sends it, or rejects it with
 * a reason. The draft carries the final text, so the approver sees what customers will read.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Secrets } from '../../config/secrets';
import {
  approveCustomerMessageUpdate,
  draftCustomerMessageUpdate,
  rejectCustomerMessageUpdate,
} from '../../workflows/incident/messages';
import { actorOf, requireResponder } from '../auth';
import type { CustomerNotice } from '../customer-notice';
import type { IncidentService } from '../incidents';
import {
  bodies,
  customerMessageBody,
  customerMessageParams,
  incidentParams,
  stepResponses,
} from '../schemas';
import { idempotencyHeaders, registerStep, requestIdOf, stepOf, toView } from './step-support';

export const customerMessageRoutes =
  (deps: { secrets: Secrets; incidents: IncidentService; notice: CustomerNotice }): FastifyPluginAsyncZod =>
  async (app) => {
    const { incidents } = deps;
    app.addHook('onRequest', requireResponder(deps.secrets));

    app.post(
      '/api/v1/incidents/:id/customer-messages',
      {
        schema: {
          summary: 'Draft a message for customers; a manager approves it before it is sent',
          tags: ['steps'],
          headers: idempotencyHeaders,
          params: incidentParams,
          body: customerMessageBody,
          response: stepResponses,
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const body = request.body;
        let message: string;
        if ('message' in body) {
          message = body.message;
        } else {
          // The template speaks of the incident as customers know it: its service and title.
          const incident = await incidents.get(request.params.id, actor.id);
          message = deps.notice({
            service: incident.service,
            title: incident.title,
            affected: body.affected,
            since: body.since ?? incident.openedAt,
            expectation: body.expectation,
            nextUpdate: body.nextUpdate,
          });
        }
        return toView(
          await incidents.step(request.params.id, draftCustomerMessageUpdate, {
            message,
            actor: actor.id,
            requestId: requestIdOf(request, actor.id),
          }),
        );
      },
    );

    const decisions = [
      stepOf(
        'customer-messages/:draftId/approve',
        'Approve a drafted customer message, which sends it (managers who approve)',
        z.strictObject({}).default({}),
        approveCustomerMessageUpdate,
        customerMessageParams,
      ),
      stepOf(
        'customer-messages/:draftId/reject',
        'Reject a drafted customer message, with a reason; nothing is sent',
        bodies.rejectCustomerMessage,
        rejectCustomerMessageUpdate,
        customerMessageParams,
      ),
    ];
    for (const definition of decisions) registerStep(app, incidents, definition);
  };

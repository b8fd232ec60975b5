/** Operator endpoints of notifications: list, one with its tries, and resend. */
import type { FastifyPluginAsync } from 'fastify';
import { idParamsSchema, idSchema, listQuerySchema } from '../http/index.js';
import { AppError } from '../platform/index.js';
import type { NotifyService } from './notify.service.js';
import type { AttemptRow, DeliveryRow } from './notify.table.js';

function deliveryJson(row: DeliveryRow): Record<string, unknown> {
  return {
    id: row.id,
    kind: row.kind,
    client_id: row.client_id,
    event_id: row.event_id,
    event_type: row.event_type,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    in_flight: row.status === 'pending' && row.lease_until !== null && row.lease_until.getTime() > Date.now(),
    last_http_status: row.last_http_status,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    delivered_at: row.delivered_at?.toISOString() ?? null,
  };
}

function attemptJson(row: AttemptRow): Record<string, unknown> {
  return { attempt: row.attempt, started_at: row.started_at.toISOString(), duration_ms: row.duration_ms, http_status: row.http_status, error: row.error };
}

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...listQuerySchema.properties,
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    client_id: idSchema,
    event_id: idSchema,
  },
} as const;

export function notifyRoutes(notify: NotifyService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { limit?: string; starting_after?: string; status?: DeliveryRow['status']; client_id?: string; event_id?: string } }>(
      '/admin/notifications',
      { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: listQuery } },
      async (request) => {
        const q = request.query;
        const page = await notify.repository.list({ limit: q.limit ? Number(q.limit) : 20, startingAfter: q.starting_after, status: q.status, clientId: q.client_id, eventId: q.event_id });
        return { data: page.data.map(deliveryJson), has_more: page.hasMore };
      },
    );

    app.get<{ Params: { id: string } }>('/admin/notifications/:id', { config: { auth: 'operator', role: 'viewer' }, schema: { params: idParamsSchema } }, async (request) => {
      const found = await notify.repository.get(request.params.id);
      if (!found) throw new AppError('NOT_FOUND');
      return { ...deliveryJson(found.delivery), body: found.delivery.body, tries: found.attempts.map(attemptJson) };
    });

    app.post<{ Params: { id: string } }>(
      '/admin/notifications/:id/resend',
      { config: { auth: 'operator', role: 'operator' }, schema: { params: idParamsSchema } },
      async (request) => {
        const result = await notify.repository.resend(request.params.id);
        if (!result.ok) throw result.reason === 'not_found' ? new AppError('NOT_FOUND') : new AppError('NOTIFICATION_IN_FLIGHT', { id: request.params.id });
        return deliveryJson(result.delivery);
      },
    );
  };
}

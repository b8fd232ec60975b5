/** Operator endpoints of the events subsystem: the dead-letter list and replay. */
import type { FastifyPluginAsync } from 'fastify';
import { idParamsSchema, listQuerySchema } from '../http/index.js';
import { AppError } from '../platform/index.js';
import type { DeadLetter } from './dead-letter.repository.js';
import type { Events } from './events.service.js';

function deadLetterJson(letter: DeadLetter): Record<string, unknown> {
  const { event } = letter;
  return {
    id: letter.id,
    consumer: letter.consumer,
    event: { id: event.id, type: event.type, key: event.key, payload: event.payload, context: event.context, source: event.source, occurred_at: event.occurredAt },
    error: letter.error,
    attempts: letter.attempts,
    status: letter.status,
    created_at: letter.createdAt.toISOString(),
    replay_requested_at: letter.replayRequestedAt?.toISOString() ?? null,
    replayed_at: letter.replayedAt?.toISOString() ?? null,
  };
}

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...listQuerySchema.properties,
    status: { type: 'string', enum: ['parked', 'replaying', 'replayed'] },
    consumer: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

export function eventsRoutes(events: Events): FastifyPluginAsync {
  return async (app) => {
    // The NATS connection lives as long as the app; closing the app closes it.
    app.addHook('onClose', async () => events.close());

    app.get<{ Querystring: { limit?: string; starting_after?: string; status?: 'parked' | 'replaying' | 'replayed'; consumer?: string } }>(
      '/admin/events/dead-letters',
      { config: { auth: 'operator', role: 'viewer' }, schema: { querystring: listQuery } },
      async (request) => {
        const q = request.query;
        const page = await events.deadLetters.list({ limit: q.limit ? Number(q.limit) : 20, startingAfter: q.starting_after, status: q.status, consumer: q.consumer });
        return { data: page.data.map(deadLetterJson), has_more: page.hasMore };
      },
    );

    app.post<{ Params: { id: string } }>(
      '/admin/events/dead-letters/:id/replay',
      { config: { auth: 'operator', role: 'operator' }, schema: { params: idParamsSchema } },
      async (request) => {
        const result = await events.requestReplay(request.params.id);
        if (!result.ok) throw result.reason === 'not_found' ? new AppError('NOT_FOUND') : new AppError('DEAD_LETTER_NOT_PARKED', { id: request.params.id });
        return deadLetterJson(result.deadLetter);
      },
    );
  };
}

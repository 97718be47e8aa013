import type { FastifyInstance } from 'fastify';
import { pendingMigrations } from '../db/migrate.ts';
import { ClearwayError } from '../kernel/errors.ts';
import type { AppContext } from './context.ts';

export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const hidden = { hide: true } as const;
  app.get('/healthz', { schema: { ...hidden }, config: { auth: 'none' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { ...hidden }, config: { auth: 'none' } }, async () => {
    try {
      await ctx.db.query('SELECT 1');
      const pending = await pendingMigrations(ctx.db);
      if (pending > 0) throw new ClearwayError('service_unavailable', `${pending} migrations are not applied; run \`clearway migrate\`.`);
    } catch (error) {
      if (error instanceof ClearwayError) throw error;
      throw new ClearwayError('service_unavailable', 'The database is not reachable.');
    }
    return { status: 'ready', store: ctx.db.kind };
  });
  app.get('/metrics', { schema: { ...hidden }, config: { auth: 'none' } }, async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}

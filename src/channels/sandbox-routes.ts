// Sandbox control (API.md "Sandbox control"): faults, credentials and the sandbox's own books,
// plus each sandbox's provider paths mounted under /sandbox/:channel on the main port.
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { errorResponses } from '../http/schemas.ts';
import type { ChannelSandbox } from './sandbox.ts';

export async function registerSandboxRoutes(app: FastifyInstance, sandboxes: Map<string, ChannelSandbox>): Promise<void> {
  const channelParams = { type: 'object', required: ['channel'], properties: { channel: { type: 'string', maxLength: 64 } } } as const;
  const faultsResponse = {
    200: {
      type: 'object',
      properties: {
        channel: { type: 'string' },
        faults: {
          type: 'object',
          properties: {
            error_rate: { type: 'number' }, timeout_rate: { type: 'number' }, latency_ms: { type: 'integer' }, outage: { type: 'boolean' },
            late_success_rate: { type: 'number' }, duplicate_notify_rate: { type: 'number' },
          },
        },
      },
    },
    ...errorResponses('forbidden', 'not_found'),
  } as const;
  const ledgerResponse = {
    200: {
      type: 'object',
      properties: {
        data: {
          type: 'array',
          items: { type: 'object', properties: { out_trade_no: { type: 'string' }, charged: { type: 'integer' }, refunded: { type: 'integer' } } },
        },
      },
    },
    ...errorResponses('not_found'),
  } as const;
  const credentialsResponse = {
    200: { type: 'object', additionalProperties: { type: 'string' }, properties: { base_url: { type: 'string' } } },
    ...errorResponses('forbidden', 'not_found'),
  } as const;
  const find = (channel: string): ChannelSandbox => {
    const sandbox = sandboxes.get(channel);
    if (!sandbox) throw new ClearwayError('not_found', `No sandbox channel ${channel}.`, { param: 'channel' });
    return sandbox;
  };
  for (const [id, sandbox] of sandboxes) await sandbox.register(app, `/sandbox/${id}`);

  app.post<{ Params: { channel: string }; Body: Record<string, unknown> }>(
    '/sandbox/:channel/faults',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['sandbox'],
        summary: 'Change how a sandbox behaves from now on (fault injection).',
        params: channelParams,
        response: faultsResponse,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            error_rate: { type: 'number', minimum: 0, maximum: 1 },
            timeout_rate: { type: 'number', minimum: 0, maximum: 1 },
            latency_ms: { type: 'integer', minimum: 0, maximum: 60_000 },
            outage: { type: 'boolean' },
            late_success_rate: { type: 'number', minimum: 0, maximum: 1 },
            duplicate_notify_rate: { type: 'number', minimum: 0, maximum: 1 },
          },
        },
      },
    },
    async (request) => {
      const sandbox = find(request.params.channel);
      sandbox.setFaults(request.body);
      return { channel: request.params.channel, faults: sandbox.faults() };
    },
  );
  app.delete<{ Params: { channel: string } }>(
    '/sandbox/:channel/faults',
    { config: { auth: 'admin' }, schema: { tags: ['sandbox'], summary: 'Reset a sandbox to no faults.', params: channelParams, response: faultsResponse } },
    async (request) => {
      const sandbox = find(request.params.channel);
      sandbox.resetFaults();
      return { channel: request.params.channel, faults: sandbox.faults() };
    },
  );
  app.get<{ Params: { channel: string } }>(
    '/sandbox/:channel/credentials',
    { config: { auth: 'admin' }, schema: { tags: ['sandbox'], summary: 'The sandbox\'s base URL and test credentials, named as the provider names them.', params: channelParams, response: credentialsResponse } },
    async (request) => find(request.params.channel).credentials(),
  );
  app.post<{ Params: { channel: string; out_trade_no: string } }>(
    '/sandbox/:channel/pay/:out_trade_no',
    {
      config: { auth: 'any' },
      schema: {
        tags: ['sandbox'],
        summary: 'The payer completes a QR or redirect payment at the sandbox; it then sends its signed notification.',
        params: {
          type: 'object',
          required: ['channel', 'out_trade_no'],
          properties: { channel: { type: 'string', maxLength: 64 }, out_trade_no: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: { 200: { type: 'object', properties: { channel: { type: 'string' }, out_trade_no: { type: 'string' }, paid: { type: 'boolean' } } }, ...errorResponses('not_found') },
      },
    },
    async (request) => {
      const sandbox = find(request.params.channel);
      if (!sandbox.payerCompletes) throw new ClearwayError('not_found', `Sandbox ${request.params.channel} has no payer-side payment (its method needs no payer action).`, { param: 'channel' });
      const done = await sandbox.payerCompletes(request.params.out_trade_no);
      if (!done.ok) throw new ClearwayError('not_found', `The sandbox cannot complete ${request.params.out_trade_no}: ${done.reason}.`, { param: 'out_trade_no' });
      return { channel: request.params.channel, out_trade_no: request.params.out_trade_no, paid: true };
    },
  );
  app.get<{ Params: { channel: string } }>(
    '/sandbox/:channel/ledger',
    { config: { auth: 'any' }, schema: { tags: ['sandbox'], summary: 'What the sandbox itself charged and refunded per out_trade_no (minor units).', params: channelParams, response: ledgerResponse } },
    async (request) => ({ data: find(request.params.channel).ledger() }),
  );
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelPaymentStatus } from '../contract.ts';
import { fromWechatAmount, toWechatAmount } from './amount.ts';
import {
  buildNativeBody,
  buildRefundBody,
  interpretCloseResponse,
  interpretNativeResponse,
  interpretQueryResponse,
  interpretRefundResponse,
  mapRefundStatus,
  mapTradeState,
  notificationFromTransaction,
  refundStatuses,
  refundStatusMap,
  tradeStateMap,
  tradeStates,
} from './transformers.ts';

const merchant = { mchid: '1900000109', appid: 'wxd678efh567hg6787' };
const expected = { out_trade_no: 'att_0123456789', amount: 1000n, currency: 'CNY' };
const transaction = (overrides: Record<string, unknown> = {}) => ({
  ...merchant, out_trade_no: expected.out_trade_no, transaction_id: '4200000000000000000000000001', trade_state: 'SUCCESS', amount: { total: 1000, payer_total: 1000, currency: 'CNY' }, ...overrides,
});

describe('trade_state map', () => {
  it('lists every WeChat trade_state, with no catch-all', () => {
    expect(Object.keys(tradeStateMap).sort()).toEqual([...tradeStates].sort());
    const want: Record<string, ChannelPaymentStatus> = {
      SUCCESS: 'succeeded', REFUND: 'succeeded', NOTPAY: 'requires_action', USERPAYING: 'pending', ACCEPT: 'pending', CLOSED: 'failed', REVOKED: 'failed', PAYERROR: 'failed',
    };
    for (const state of tradeStates) expect(mapTradeState(state).status).toBe(want[state]);
    for (const state of tradeStates) expect(mapTradeState(state).retryable_elsewhere).toBe(want[state] === 'failed');
  });

  it('maps a state WeChat may add later to pending', () => {
    fc.assert(fc.property(fc.string(), (state) => {
      fc.pre(!(tradeStates as readonly string[]).includes(state));
      expect(mapTradeState(state)).toMatchObject({ status: 'pending', retryable_elsewhere: false });
    }));
  });

  it('lists every refund status; unknown ones are pending', () => {
    expect(Object.keys(refundStatusMap).sort()).toEqual([...refundStatuses].sort());
    expect(mapRefundStatus('SUCCESS').status).toBe('succeeded');
    expect(mapRefundStatus('PROCESSING').status).toBe('pending');
    expect(mapRefundStatus('ABNORMAL')).toEqual({ status: 'pending', failure_code: 'ABNORMAL' });
    expect(mapRefundStatus('CLOSED').status).toBe('failed');
    expect(mapRefundStatus('SOMETHING_NEW').status).toBe('pending');
  });
});

describe('amounts', () => {
  it('CNY fen round-trips; other currencies and oversize amounts are refused', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 2_147_483_647n }), (amount) => {
      const wire = toWechatAmount(amount, 'CNY');
      expect(wire.ok).toBe(true);
      if (wire.ok) expect(fromWechatAmount(wire.fen)).toBe(amount);
    }));
    expect(toWechatAmount(100n, 'USD')).toMatchObject({ ok: false, code: 'currency_not_supported' });
    expect(toWechatAmount(2_147_483_648n, 'CNY')).toMatchObject({ ok: false, code: 'amount_not_representable' });
    expect(() => toWechatAmount(0n, 'CNY')).toThrow();
    expect(fromWechatAmount(1.5)).toBeNull();
    expect(fromWechatAmount('100')).toBeNull();
  });
});

describe('requests', () => {
  it('builds the native body in fen with our merchant, app and notify_url', () => {
    const built = buildNativeBody({ ...expected, method: 'wechat_pay', description: 'd', payment_method_data: {}, metadata: {} }, merchant, 'https://example.com/notify/wx');
    expect(built).toEqual({ ok: true, body: { ...merchant, description: 'd', out_trade_no: expected.out_trade_no, notify_url: 'https://example.com/notify/wx', amount: { total: 1000, currency: 'CNY' } } });
    const tooLong = buildNativeBody({ ...expected, out_trade_no: 'x'.repeat(33), method: 'wechat_pay', description: 'd', payment_method_data: {}, metadata: {} }, merchant, 'https://e.com');
    expect(tooLong).toMatchObject({ ok: false, code: 'out_trade_no_invalid' });
  });

  it('builds a refund body with the order total and refuses more than the total', () => {
    const request = { out_trade_no: expected.out_trade_no, channel_txn_id: null, out_refund_no: 'ref_1', amount: 300n, currency: 'CNY' };
    expect(buildRefundBody(request, 1000n)).toEqual({ ok: true, body: { out_trade_no: expected.out_trade_no, out_refund_no: 'ref_1', amount: { refund: 300, total: 1000, currency: 'CNY' } } });
    expect(buildRefundBody({ ...request, amount: 1001n }, 1000n)).toMatchObject({ ok: false, code: 'amount_too_large' });
  });
});

describe('responses are checked against the request', () => {
  it('native: a weixin:// code is requires_action; definite 4xx codes fail; 5xx and ambiguous codes are unknown', () => {
    expect(interpretNativeResponse(200, { code_url: 'weixin://wxpay/bizpayurl?pr=abc' }, expected)).toMatchObject({ kind: 'result', status: 'requires_action', next_action: { type: 'qr_code', url: 'weixin://wxpay/bizpayurl?pr=abc' } });
    expect(interpretNativeResponse(200, { code_url: 'https://evil.example' }, expected).kind).toBe('unknown');
    expect(interpretNativeResponse(400, { code: 'PARAM_ERROR', message: 'x' }, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'PARAM_ERROR', retryable_elsewhere: true });
    for (const [status, code] of [[500, 'SYSTEM_ERROR'], [403, 'ORDERPAID'], [403, 'OUT_TRADE_NO_USED'], [429, 'FREQUENCY_LIMITED'], [400, 'SOMETHING_NEW']] as const) {
      expect(interpretNativeResponse(status, { code, message: 'x' }, expected).kind).toBe('unknown');
    }
  });

  it('query: believes a matching transaction and nothing else', () => {
    expect(interpretQueryResponse(200, transaction(), expected, merchant)).toMatchObject({ kind: 'result', status: 'succeeded', channel_txn_id: '4200000000000000000000000001', amount: 1000n });
    const mismatches = [
      transaction({ out_trade_no: 'att_other_12345' }),
      transaction({ mchid: '1900000999' }),
      transaction({ appid: 'wxother' }),
      transaction({ amount: { total: 999, currency: 'CNY' } }),
      transaction({ amount: { total: 1000, currency: 'USD' } }),
      transaction({ amount: undefined }),
    ];
    for (const body of mismatches) expect(interpretQueryResponse(200, body, expected, merchant).kind).toBe('unknown');
    expect(interpretQueryResponse(200, transaction({ trade_state: 'NOTPAY', transaction_id: undefined, amount: undefined }), expected, merchant)).toMatchObject({ kind: 'result', status: 'requires_action' });
    expect(interpretQueryResponse(404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' }, expected, merchant)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found', retryable_elsewhere: true });
    expect(interpretQueryResponse(404, { code: 'NOT_FOUND' }, expected, merchant).kind).toBe('unknown');
    expect(interpretQueryResponse(500, { code: 'SYSTEM_ERROR' }, expected, merchant).kind).toBe('unknown');
  });

  it('refund: believes a matching refund; definite codes fail; anything else is unknown', () => {
    const request = { out_trade_no: expected.out_trade_no, out_refund_no: 'ref_1', amount: 300n, currency: 'CNY' };
    const body = { refund_id: '50000000382019052709732678859', out_refund_no: 'ref_1', out_trade_no: expected.out_trade_no, status: 'SUCCESS', amount: { refund: 300, total: 1000, currency: 'CNY' } };
    expect(interpretRefundResponse(200, body, request)).toEqual({ kind: 'result', status: 'succeeded', channel_refund_id: body.refund_id, amount: 300n, currency: 'CNY', failure_code: null });
    expect(interpretRefundResponse(200, { ...body, amount: { ...body.amount, refund: 301 } }, request).kind).toBe('unknown');
    expect(interpretRefundResponse(200, { ...body, out_refund_no: 'ref_2' }, request).kind).toBe('unknown');
    expect(interpretRefundResponse(200, { ...body, status: 'PROCESSING' }, request)).toMatchObject({ kind: 'result', status: 'pending' });
    expect(interpretRefundResponse(403, { code: 'NOT_ENOUGH' }, request)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'NOT_ENOUGH' });
    expect(interpretRefundResponse(500, { code: 'SYSTEM_ERROR' }, request).kind).toBe('unknown');
  });

  it('close: 204 closed, a coded 4xx refused, anything else unknown', () => {
    expect(interpretCloseResponse(204, null)).toEqual({ kind: 'closed' });
    expect(interpretCloseResponse(403, { code: 'ORDERPAID', message: 'paid' })).toEqual({ kind: 'refused', code: 'ORDERPAID', message: 'paid' });
    expect(interpretCloseResponse(502, null).kind).toBe('unknown');
  });

  it('a decrypted notification transaction must be about our merchant and app', () => {
    expect(notificationFromTransaction('evt_1', transaction(), merchant)).toEqual({
      ok: true, notification: { event_id: 'evt_1', out_trade_no: expected.out_trade_no, status: 'succeeded', channel_txn_id: '4200000000000000000000000001', amount: 1000n, currency: 'CNY' },
    });
    expect(notificationFromTransaction('evt_1', transaction({ mchid: '1' }), merchant)).toMatchObject({ ok: false });
    expect(notificationFromTransaction('evt_1', transaction({ appid: 'wx1' }), merchant)).toMatchObject({ ok: false });
    expect(notificationFromTransaction('evt_1', transaction({ amount: { total: -1 } }), merchant)).toMatchObject({ ok: false });
  });
});

import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromYuanString, toYuanString } from './amount.ts';
import { fieldsToVerdict, readNotificationForm } from './notification.ts';
import { notificationSignExcluded, readSignedResponse, requestSignExcluded, rsa2Sign, rsa2Verify, signContent } from './signature.ts';
import { alipayTimestamp, interpretPrecreate, interpretQuery, interpretRefund, mapTradeStatus, signedRequestFields, tradeStatuses, tradeStatusMap, verifyGatewayResponse } from './transformers.ts';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('yuan amounts', () => {
  it('converts fen to yuan strings and back', () => {
    expect(toYuanString(1234n, 'CNY')).toEqual({ ok: true, value: '12.34' });
    expect(toYuanString(1n, 'CNY')).toEqual({ ok: true, value: '0.01' });
    expect(toYuanString(100n, 'CNY')).toEqual({ ok: true, value: '1.00' });
    expect(toYuanString(100n, 'USD')).toMatchObject({ ok: false, code: 'currency_not_supported' });
    expect(toYuanString(0n, 'CNY')).toMatchObject({ ok: false, code: 'amount_out_of_range' });
    expect(toYuanString(10_000_000_001n, 'CNY')).toMatchObject({ ok: false, code: 'amount_out_of_range' });
  });

  it('parses strictly', () => {
    expect(fromYuanString('12.34')).toBe(1234n);
    expect(fromYuanString('12.3')).toBe(1230n);
    expect(fromYuanString('12')).toBe(1200n);
    for (const bad of ['12.345', '-1.00', '+1', '1e2', ' 1.00', '01.00', '.5', '1.', '', '0x10', 12.34, null]) expect(fromYuanString(bad)).toBeNull();
  });

  it('round-trips every amount', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10_000_000_000n }), (fen) => {
      const wire = toYuanString(fen, 'CNY');
      return wire.ok && fromYuanString(wire.value) === fen;
    }));
  });
});

describe('signature strings', () => {
  it('sorts non-empty fields, excluding sign (requests) or sign and sign_type (notifications)', () => {
    const fields = { method: 'alipay.trade.query', app_id: '2021', sign: 'xyz', sign_type: 'RSA2', empty: '', biz_content: '{"out_trade_no":"a"}' };
    expect(signContent(fields, requestSignExcluded)).toBe('app_id=2021&biz_content={"out_trade_no":"a"}&method=alipay.trade.query&sign_type=RSA2');
    expect(signContent(fields, notificationSignExcluded)).toBe('app_id=2021&biz_content={"out_trade_no":"a"}&method=alipay.trade.query');
  });

  it('signs requests over all common parameters and biz_content', () => {
    const fields = signedRequestFields({ app_id: '2021', method: 'alipay.trade.query', timestamp: '2026-01-01 08:00:00' }, { out_trade_no: 'a' }, keys.privateKey);
    expect(fields).toMatchObject({ format: 'JSON', charset: 'utf-8', sign_type: 'RSA2', version: '1.0', biz_content: '{"out_trade_no":"a"}' });
    expect(rsa2Verify(signContent(fields, requestSignExcluded), fields['sign']!, keys.publicKey)).toBe(true);
  });

  it('formats timestamps in Beijing time', () => {
    expect(alipayTimestamp(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01 08:00:00');
    expect(alipayTimestamp(new Date('2026-12-31T17:30:05Z'))).toBe('2027-01-01 01:30:05');
  });

  it('verifies the exact text of the response node, escapes included', () => {
    const nodeText = '{"code":"10000","msg":"Success","out_trade_no":"a","qr_code":"https:\\/\\/qr.alipay.com\\/bax1"}';
    const body = `{"alipay_trade_precreate_response":${nodeText},"sign":"${rsa2Sign(nodeText, keys.privateKey)}"}`;
    expect(readSignedResponse(body, 'alipay.trade.precreate')?.node_text).toBe(nodeText);
    const verified = verifyGatewayResponse(200, body, 'alipay.trade.precreate', keys.publicKey);
    expect(verified).toMatchObject({ kind: 'node', node: { qr_code: 'https://qr.alipay.com/bax1' } });
    expect(verifyGatewayResponse(200, body.replace('"a"', '"b"'), 'alipay.trade.precreate', keys.publicKey)).toMatchObject({ kind: 'unknown' });
    expect(verifyGatewayResponse(200, `{"alipay_trade_precreate_response":${nodeText}}`, 'alipay.trade.precreate', keys.publicKey)).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('unsigned') });
    expect(verifyGatewayResponse(502, body, 'alipay.trade.precreate', keys.publicKey)).toMatchObject({ kind: 'unknown' });
    expect(verifyGatewayResponse(200, 'not json', 'alipay.trade.precreate', keys.publicKey)).toMatchObject({ kind: 'unknown' });
  });
});

describe('status maps', () => {
  it('maps every trade_status, and anything else to pending', () => {
    expect(Object.keys(tradeStatusMap).sort()).toEqual([...tradeStatuses].sort());
    expect(mapTradeStatus('WAIT_BUYER_PAY', null).status).toBe('requires_action');
    expect(mapTradeStatus('TRADE_SUCCESS', '2026-01-01 08:00:00').status).toBe('succeeded');
    expect(mapTradeStatus('TRADE_FINISHED', '2026-01-01 08:00:00').status).toBe('succeeded');
    expect(mapTradeStatus('TRADE_CLOSED', null)).toEqual({ status: 'failed', failure_code: 'trade_closed', retryable_elsewhere: true });
    expect(mapTradeStatus('TRADE_CLOSED', '2026-01-01 08:00:00').status).toBe('succeeded'); // paid, then refunded in full
    expect(mapTradeStatus('TRADE_PENDING', null).status).toBe('pending');
    expect(mapTradeStatus(undefined, null).status).toBe('pending');
  });

  const expected = { out_trade_no: 'a', amount: 1234n, currency: 'CNY' };

  it('checks query answers against the request', () => {
    const node = { code: '10000', msg: 'Success', out_trade_no: 'a', trade_no: '2026', total_amount: '12.34', trade_status: 'TRADE_SUCCESS', send_pay_date: 'x' };
    expect(interpretQuery(node, expected)).toMatchObject({ kind: 'result', status: 'succeeded', channel_txn_id: '2026', amount: 1234n });
    expect(interpretQuery({ ...node, out_trade_no: 'b' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretQuery({ ...node, total_amount: '12.35' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretQuery({ ...node, total_amount: '12.345' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretQuery(node, { ...expected, currency: 'USD' })).toMatchObject({ kind: 'unknown' });
    expect(interpretQuery({ code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' }, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found' });
    expect(interpretQuery({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretQuery({ code: '20000', sub_code: 'isp.unknow-error' }, expected)).toMatchObject({ kind: 'unknown' });
  });

  it('maps precreate codes: definite failures, ambiguity, and a trade already paid', () => {
    expect(interpretPrecreate({ code: '10000', out_trade_no: 'a', qr_code: 'https://qr.alipay.com/x' }, expected)).toMatchObject({ status: 'requires_action' });
    expect(interpretPrecreate({ code: '10000', out_trade_no: 'b', qr_code: 'https://qr.alipay.com/x' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretPrecreate({ code: '10000', out_trade_no: 'a' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretPrecreate({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretPrecreate({ code: '40004', sub_code: 'ACQ.SOMETHING_NEW' }, expected)).toMatchObject({ kind: 'unknown' });
    expect(interpretPrecreate({ code: '40004', sub_code: 'ACQ.TRADE_HAS_SUCCESS' }, expected)).toMatchObject({ kind: 'result', status: 'pending' });
    expect(interpretPrecreate({ code: '40004', sub_code: 'ACQ.INVALID_PARAMETER' }, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'ACQ.INVALID_PARAMETER' });
    expect(interpretPrecreate({ code: '40002', sub_code: 'isv.invalid-signature' }, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'isv.invalid-signature' });
    expect(interpretPrecreate({ code: '20000', sub_code: 'isp.unknow-error' }, expected)).toMatchObject({ kind: 'unknown' });
  });

  it('reads refund answers: cumulative refund_fee, fund_change, codes', () => {
    const request = { out_trade_no: 'a', channel_txn_id: null, out_refund_no: 'r1', amount: 300n, currency: 'CNY' };
    const node = { code: '10000', out_trade_no: 'a', fund_change: 'Y', refund_fee: '5.00' };
    expect(interpretRefund(node, request)).toMatchObject({ kind: 'result', status: 'succeeded', amount: 300n });
    expect(interpretRefund({ ...node, refund_fee: '2.99' }, request)).toMatchObject({ kind: 'unknown' });
    expect(interpretRefund({ ...node, fund_change: 'N' }, request)).toEqual({ kind: 'confirm_by_query' });
    expect(interpretRefund({ code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' }, request)).toMatchObject({ status: 'failed', failure_code: 'payment_not_found' });
    expect(interpretRefund({ code: '40004', sub_code: 'ACQ.SYSTEM_ERROR' }, request)).toMatchObject({ kind: 'unknown' });
  });
});

describe('notification fields', () => {
  const base = { notify_type: 'trade_status_sync', notify_id: 'n1', out_trade_no: 'a', trade_no: 't1', trade_status: 'TRADE_SUCCESS', total_amount: '12.34', gmt_payment: 'x' };

  it('maps a trade status notification', () => {
    expect(fieldsToVerdict(base)).toEqual({ kind: 'verified', notification: { event_id: 'n1', out_trade_no: 'a', status: 'succeeded', channel_txn_id: 't1', amount: 1234n, currency: 'CNY' } });
    expect(fieldsToVerdict({ ...base, total_amount: '12.345' })).toMatchObject({ kind: 'rejected' });
    expect(fieldsToVerdict({ ...base, notify_type: 'other' })).toMatchObject({ kind: 'ignored' });
    expect(fieldsToVerdict({ ...base, out_biz_no: 'r1', refund_fee: '1.00' })).toMatchObject({ kind: 'ignored', reason: 'refund notification' });
    expect(fieldsToVerdict({ ...base, trade_status: 'SOMETHING_NEW' })).toMatchObject({ kind: 'verified', notification: { status: 'pending' } });
  });

  it('refuses repeated fields', () => {
    expect(readNotificationForm(Buffer.from('a=1&a=2'))).toMatchObject({ ok: false });
    expect(readNotificationForm(Buffer.from('a=1&b=%E4%BD%A0'))).toEqual({ ok: true, fields: { a: '1', b: '你' } });
  });
});

import { createSign, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyWechatNotification } from './notification.ts';
import {
  authorizationHeader,
  decryptResource,
  encryptResource,
  requestSignatureMessage,
  responseSignatureMessage,
  signSha256WithRsa,
  verifySha256WithRsa,
  verifyWechatSignature,
} from './signature.ts';

const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
const apiV3Key = 'a'.repeat(16) + 'B'.repeat(16);
const merchant = { mchid: '1900000109', appid: 'wxd678efh567hg6787' };
const now = 1_767_225_600;

describe('signature messages', () => {
  it('builds the request message as WeChat documents it: method, URL, timestamp, nonce, body, each line ending in \\n', () => {
    expect(requestSignatureMessage('GET', '/v3/certificates', '1554208460', '593BEC0C930BF1AFEB40B4A08C8FB242', '')).toBe('GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n');
    expect(requestSignatureMessage('POST', '/v3/pay/transactions/native', '1', 'n', '{"a":1}')).toBe('POST\n/v3/pay/transactions/native\n1\nn\n{"a":1}\n');
    expect(() => requestSignatureMessage('POST', 'https://api.mch.weixin.qq.com/v3', '1', 'n', '')).toThrow();
    expect(responseSignatureMessage('1554209980', 'c5ac7061fccab6bf3e254dcf98995b8c', '')).toBe('1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n\n');
  });

  it('formats the Authorization header', () => {
    expect(authorizationHeader({ mchid: '1900009191', nonce_str: 'N', signature: 'S', timestamp: '1554208460', serial_no: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C' }))
      .toBe('WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="N",signature="S",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"');
  });

  it('signs and verifies SHA256withRSA; a changed message or key fails', () => {
    const signature = signSha256WithRsa('hello\n', platform.privateKey);
    expect(verifySha256WithRsa('hello\n', signature, platform.publicKey)).toBe(true);
    expect(verifySha256WithRsa('hello!\n', signature, platform.publicKey)).toBe(false);
    expect(verifySha256WithRsa('hello\n', signature, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBe(false);
    expect(verifySha256WithRsa('hello\n', 'not base64!', platform.publicKey)).toBe(false);
  });

  it('checks serial, signature and age of Wechatpay-* headers', () => {
    const body = '{"x":1}';
    const headers = { timestamp: String(now), nonce: 'n', signature: signSha256WithRsa(responseSignatureMessage(String(now), 'n', body), platform.privateKey), serial: 'SERIAL' };
    const key = { serial_no: 'SERIAL', public_key: platform.publicKey };
    expect(verifyWechatSignature(headers, body, key, now + 300, 300)).toEqual({ ok: true });
    expect(verifyWechatSignature(headers, body, key, now + 301, 300)).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifyWechatSignature({ ...headers, serial: 'OTHER' }, body, key, now, 300)).toMatchObject({ ok: false });
    expect(verifyWechatSignature(headers, '{"x":2}', key, now, 300)).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(verifyWechatSignature({ ...headers, signature: undefined }, body, key, now, 300)).toMatchObject({ ok: false });
  });
});

describe('AEAD_AES_256_GCM resources', () => {
  it('round-trips any text with any 12-character nonce and associated data', () => {
    fc.assert(fc.property(fc.string(), fc.string({ minLength: 12, maxLength: 12, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789') }), fc.string(), (text, nonce, aad) => {
      const sealed = encryptResource(text, apiV3Key, nonce, aad);
      expect(decryptResource(sealed, apiV3Key)).toBe(text);
    }), { numRuns: 200 });
  });

  it('refuses a flipped bit, another key, another nonce or other associated data', () => {
    const sealed = encryptResource('{"out_trade_no":"x"}', apiV3Key, 'abcdefghijkl', 'transaction');
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[3] = (bytes[3] ?? 0) ^ 0x80;
    expect(decryptResource({ ...sealed, ciphertext: bytes.toString('base64') }, apiV3Key)).toBeNull();
    expect(decryptResource(sealed, 'z'.repeat(32))).toBeNull();
    expect(decryptResource({ ...sealed, nonce: 'abcdefghijkm' }, apiV3Key)).toBeNull();
    expect(decryptResource({ ...sealed, associated_data: 'other' }, apiV3Key)).toBeNull();
    expect(decryptResource({ ...sealed, ciphertext: 'AAAA' }, apiV3Key)).toBeNull();
  });
});

describe('notifications', () => {
  const keys = { platformSerialNo: 'SERIAL', platformPublicKey: platform.publicKey, apiV3Key };
  const signedNotification = (resource: object, eventType = 'TRANSACTION.SUCCESS'): { body: Buffer; headers: Record<string, string> } => {
    const body = JSON.stringify({ id: 'evt-1', create_time: '2026-01-01T08:00:00+08:00', resource_type: 'encrypt-resource', event_type: eventType, summary: '支付成功', resource });
    const signature = createSign('RSA-SHA256').update(`${now}\nnonce\n${body}\n`).sign(platform.privateKey, 'base64');
    return { body: Buffer.from(body), headers: { 'Wechatpay-Timestamp': String(now), 'Wechatpay-Nonce': 'nonce', 'Wechatpay-Signature': signature, 'Wechatpay-Serial': 'SERIAL' } };
  };
  const transaction = JSON.stringify({ ...merchant, out_trade_no: 'att_1234567', transaction_id: '42000', trade_state: 'SUCCESS', amount: { total: 100, payer_total: 100, currency: 'CNY' } });
  const resource = (plaintext: string) => ({ algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction', ...encryptResource(plaintext, apiV3Key, '0123456789ab', 'transaction') });

  it('verifies, decrypts and maps a signed TRANSACTION.SUCCESS', () => {
    const { body, headers } = signedNotification(resource(transaction));
    expect(verifyWechatNotification(body, headers, keys, merchant, now)).toEqual({
      kind: 'verified', notification: { event_id: 'evt-1', out_trade_no: 'att_1234567', status: 'succeeded', channel_txn_id: '42000', amount: 100n, currency: 'CNY' },
    });
  });

  it('rejects a signed notification whose ciphertext was tampered with before signing (the AEAD tag fails)', () => {
    const sealed = resource(transaction);
    const bytes = Buffer.from(sealed.ciphertext, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const { body, headers } = signedNotification({ ...sealed, ciphertext: bytes.toString('base64') });
    expect(verifyWechatNotification(body, headers, keys, merchant, now)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/does not decrypt/) });
  });

  it('rejects another merchant\'s transaction and an unencrypted resource; ignores refund events', () => {
    const other = JSON.stringify({ ...JSON.parse(transaction), mchid: '1999999999' });
    const wrongMerchant = signedNotification(resource(other));
    expect(verifyWechatNotification(wrongMerchant.body, wrongMerchant.headers, keys, merchant, now)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/mchid/) });
    const plain = signedNotification({ algorithm: 'NONE', original_type: 'transaction', ciphertext: transaction, nonce: '0123456789ab', associated_data: '' });
    expect(verifyWechatNotification(plain.body, plain.headers, keys, merchant, now)).toMatchObject({ kind: 'rejected' });
    const refund = signedNotification(resource('{}'), 'REFUND.SUCCESS');
    expect(verifyWechatNotification(refund.body, refund.headers, keys, merchant, now)).toMatchObject({ kind: 'ignored' });
  });
});

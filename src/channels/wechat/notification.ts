// WeChat Pay API v3 notifications: verify the Wechatpay-* signature over the raw body with the
// platform key (serial checked, timestamp within 5 minutes) before reading anything, then
// decrypt the AEAD_AES_256_GCM resource with the APIv3 key and check it is about our merchant
// and app. Anything unverifiable is `rejected`; verified events that are not payment outcomes
// (REFUND.*) are `ignored`.
import type { KeyObject } from 'node:crypto';
import type { NotificationAnswer, NotificationVerdict } from '../contract.ts';
import { wechatConnectorLimits } from './limits.ts';
import { decryptResource, signedHeadersOf, verifyWechatSignature } from './signature.ts';
import { notificationFromTransaction, type WechatMerchant } from './transformers.ts';

export interface NotificationKeys {
  readonly platformSerialNo: string;
  readonly platformPublicKey: KeyObject;
  readonly apiV3Key: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function verifyWechatNotification(
  rawBody: Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  keys: NotificationKeys,
  merchant: WechatMerchant,
  now_seconds: number,
): NotificationVerdict {
  if (rawBody.length > wechatConnectorLimits.notification_body_bytes_max) return { kind: 'rejected', reason: 'notification body too large' };
  const body = rawBody.toString('utf8');
  const check = verifyWechatSignature(
    signedHeadersOf(headers),
    body,
    { serial_no: keys.platformSerialNo, public_key: keys.platformPublicKey },
    now_seconds,
    wechatConnectorLimits.signature_tolerance_seconds,
  );
  if (!check.ok) return { kind: 'rejected', reason: check.reason };
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return { kind: 'rejected', reason: 'signed body is not JSON' };
  }
  if (!isObject(event) || typeof event['id'] !== 'string' || typeof event['event_type'] !== 'string' || !isObject(event['resource'])) {
    return { kind: 'rejected', reason: 'malformed notification' };
  }
  const eventType = event['event_type'];
  if (!eventType.startsWith('TRANSACTION.')) return { kind: 'ignored', reason: `event type ${eventType} is not a payment outcome` };
  const resource = event['resource'];
  if (event['resource_type'] !== 'encrypt-resource' || resource['algorithm'] !== 'AEAD_AES_256_GCM' || resource['original_type'] !== 'transaction') {
    return { kind: 'rejected', reason: 'resource is not an AEAD_AES_256_GCM encrypted transaction' };
  }
  const { ciphertext, nonce } = resource;
  const associated_data = resource['associated_data'] ?? '';
  if (typeof ciphertext !== 'string' || typeof nonce !== 'string' || typeof associated_data !== 'string') return { kind: 'rejected', reason: 'malformed resource' };
  const plaintext = decryptResource({ ciphertext, nonce, associated_data }, keys.apiV3Key);
  if (plaintext === null) return { kind: 'rejected', reason: 'resource does not decrypt with our APIv3 key' };
  let transaction: unknown;
  try {
    transaction = JSON.parse(plaintext);
  } catch {
    return { kind: 'rejected', reason: 'decrypted resource is not JSON' };
  }
  const read = notificationFromTransaction(event['id'], transaction, merchant);
  return read.ok ? { kind: 'verified', notification: read.notification } : { kind: 'rejected', reason: read.reason };
}

/** WeChat Pay v3 wants a 200 (or 204) to stop retrying; anything else makes it retry. */
export function answerWechatNotification(accepted: boolean): NotificationAnswer {
  return accepted
    ? { status: 200, contentType: 'application/json', body: '{"code":"SUCCESS","message":"成功"}' }
    : { status: 400, contentType: 'application/json', body: '{"code":"FAIL","message":"notification refused"}' };
}

// Alipay's asynchronous notification (https://opendocs.alipay.com/open/270/105902): a form POST
// to notify_url, signed RSA2 over the sorted fields except `sign` and `sign_type`, verified with
// the Alipay public key. Alipay retries until the answer is the plain text `success`.
import type { ChannelNotification, NotificationAnswer, NotificationVerdict } from '../contract.ts';
import { alipayCurrency, fromYuanString } from './amount.ts';
import { alipayConnectorLimits } from './limits.ts';
import { notificationSignExcluded, rsa2Verify, signContent, type AlipayKey } from './signature.ts';
import { mapTradeStatus } from './transformers.ts';

export type FormRead = { readonly ok: true; readonly fields: Record<string, string> } | { readonly ok: false; readonly reason: string };

/** A notification body as fields; every name once (a repeated field could say two things at once). */
export function readNotificationForm(rawBody: Buffer): FormRead {
  if (rawBody.length > alipayConnectorLimits.notification_body_bytes_max) return { ok: false, reason: 'notification body too large' };
  const fields: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    if (++count > alipayConnectorLimits.notification_fields_max) return { ok: false, reason: 'too many notification fields' };
    if (Object.hasOwn(fields, name)) return { ok: false, reason: `field ${name} appears more than once` };
    fields[name] = value;
  }
  return { ok: true, fields };
}

export interface NotificationKeys {
  readonly appId: string;
  readonly alipayPublicKey: AlipayKey;
}

export function verifyAlipayNotification(rawBody: Buffer, keys: NotificationKeys): NotificationVerdict {
  const form = readNotificationForm(rawBody);
  if (!form.ok) return { kind: 'rejected', reason: form.reason };
  const fields = form.fields;
  const sign = fields['sign'];
  if (sign === undefined || sign === '') return { kind: 'rejected', reason: 'notification has no sign' };
  if (fields['sign_type'] !== undefined && fields['sign_type'] !== 'RSA2') return { kind: 'rejected', reason: `sign_type ${fields['sign_type']} is not accepted (RSA2 only)` };
  if (!rsa2Verify(signContent(fields, notificationSignExcluded), sign, keys.alipayPublicKey)) return { kind: 'rejected', reason: 'notification signature does not verify' };
  // Signed by Alipay from here on; still, it must be about our app and well formed.
  if (fields['app_id'] !== keys.appId) return { kind: 'rejected', reason: `notification for app_id ${String(fields['app_id'])}, not ours` };
  return fieldsToVerdict(fields);
}

/** A verified notification's fields: a payment outcome, or ignored when it is about something else. */
export function fieldsToVerdict(fields: Readonly<Record<string, string>>): NotificationVerdict {
  if (fields['notify_type'] !== 'trade_status_sync') return { kind: 'ignored', reason: `notify_type ${String(fields['notify_type'])} is not a trade status` };
  const { notify_id, out_trade_no } = fields;
  if (notify_id === undefined || notify_id === '' || out_trade_no === undefined || out_trade_no === '') return { kind: 'rejected', reason: 'notification without notify_id or out_trade_no' };
  // Refunds are announced as trade_status_sync too (with out_biz_no and refund_fee): not a payment outcome.
  if (fields['out_biz_no'] !== undefined || fields['refund_fee'] !== undefined) return { kind: 'ignored', reason: 'refund notification' };
  const amount = fromYuanString(fields['total_amount']);
  if (amount === null) return { kind: 'rejected', reason: `bad total_amount ${String(fields['total_amount'])}` };
  const mapped = mapTradeStatus(fields['trade_status'], fields['gmt_payment'] ?? null);
  const notification: ChannelNotification = {
    event_id: notify_id,
    out_trade_no,
    status: mapped.status,
    channel_txn_id: fields['trade_no'] ?? null,
    amount,
    currency: alipayCurrency,
  };
  return { kind: 'verified', notification };
}

/** Alipay stops retrying only on the exact text `success`. */
export function answerAlipayNotification(accepted: boolean): NotificationAnswer {
  return { status: 200, contentType: 'text/plain', body: accepted ? 'success' : 'fail' };
}

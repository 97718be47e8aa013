// The Clearway-Signature header (API.md): t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.
// The key is the whole secret string, `whsec_` included, as UTF-8. Pure: the time is an argument.
import { createHmac } from 'node:crypto';
import { assert } from '../../kernel/errors.ts';

export const signatureHeaderName = 'Clearway-Signature';

export function signatureHex(secret: string, timestampSeconds: number, rawBody: string): string {
  assert(secret.startsWith('whsec_'), 'a webhook secret starts with whsec_');
  assert(Number.isSafeInteger(timestampSeconds) && timestampSeconds > 0, 'the signature timestamp is a positive integer of seconds');
  return createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`, 'utf8').digest('hex');
}

export function signatureHeader(secret: string, timestampSeconds: number, rawBody: string): string {
  const header = `t=${timestampSeconds},v1=${signatureHex(secret, timestampSeconds, rawBody)}`;
  assert(/^t=\d+,v1=[0-9a-f]{64}$/.test(header), 'the signature header has its documented shape');
  return header;
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { errorBody } from './errors.ts';

// Stripe authenticates with the secret key, as a Bearer token or as the Basic-auth user name
// (empty password). Anything else is a 401 in Stripe's shape (Stripe types it
// invalid_request_error; the libraries turn any 401 into an authentication error).

export type AuthCheck = { readonly ok: true } | { readonly ok: false; readonly body: unknown };

const noKeyMessage =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

export function presentedKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) return bearer[1] ?? null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic === null) return null;
  const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  return user.length > 0 ? user : null;
}

function sameKey(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function checkAuthorization(header: string | undefined, secretKey: string): AuthCheck {
  const key = presentedKey(header);
  if (key === null) return { ok: false, body: errorBody('invalid_request_error', noKeyMessage) };
  if (sameKey(key, secretKey)) return { ok: true };
  const masked = key.length <= 12 ? '*'.repeat(key.length) : `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
  return { ok: false, body: errorBody('invalid_request_error', `Invalid API Key provided: ${masked}`) };
}

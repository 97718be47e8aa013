// RSA2 (SHA256withRSA) as Alipay's Open Platform uses it (https://opendocs.alipay.com/common/02kf5q):
// - request: every parameter except `sign` (sign_type included) whose value is not empty,
//   sorted by name (byte order), joined as `k=v&k=v` with raw (not URL-encoded) values, signed
//   with the app private key, base64.
// - response: the exact JSON text of the `<method>_response` node as sent, verified with the
//   Alipay public key against the sibling `sign`.
// - notification: the form fields except `sign` and `sign_type`, sorted and joined the same way.
// Pure functions (node:crypto only), no I/O.
import { createSign, createVerify, type KeyObject } from 'node:crypto';

export type AlipayKey = string | KeyObject;

/** `k=v&...` over the sorted non-empty fields, leaving out the names in `excluded`. */
export function signContent(fields: Readonly<Record<string, string>>, excluded: ReadonlySet<string>): string {
  return Object.keys(fields)
    .filter((name) => !excluded.has(name) && fields[name] !== undefined && fields[name] !== '')
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('&');
}

export const requestSignExcluded: ReadonlySet<string> = new Set(['sign']);
export const notificationSignExcluded: ReadonlySet<string> = new Set(['sign', 'sign_type']);

export function rsa2Sign(content: string, privateKey: AlipayKey): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKey, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKey: AlipayKey): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, signature, 'base64');
  } catch {
    return false; // a key or signature node:crypto cannot use: not verified
  }
}

/** The name of a method's response node: alipay.trade.query -> alipay_trade_query_response. */
export function responseNodeName(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * Where a JSON value starts at `from` (after optional whitespace) and ends: the exact text of an
 * object, found by scanning strings and nesting rather than by re-serializing (which could
 * differ from what was signed, e.g. Alipay's `\/` escapes). Null when the text is not an object there.
 */
function objectExtent(text: string, from: number): { start: number; end: number } | null {
  let index = from;
  while (index < text.length && /\s/.test(text[index]!)) index++;
  if (text[index] !== '{') return null;
  const start = index;
  let depth = 0;
  let inString = false;
  for (; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return { start, end: index + 1 };
    }
  }
  return null;
}

export interface SignedResponse {
  /** The exact text of the response node, as signed. */
  readonly node_text: string;
  readonly node: Record<string, unknown>;
  /** The sibling `sign`, or null when the gateway sent none. */
  readonly sign: string | null;
  /** Which node was found: the method's own, or the gateway's `error_response`. */
  readonly node_name: string;
}

/**
 * Takes a gateway response body apart: the whole body must be JSON, the top level must hold the
 * method's node (or `error_response`) exactly once, and the node's text is cut out of the body
 * at the position JSON.parse agrees on. Null when the body is not such a response.
 */
export function readSignedResponse(body: string, method: string): SignedResponse | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const top = parsed as Record<string, unknown>;
  const node_name = responseNodeName(method) in top ? responseNodeName(method) : 'error_response';
  const node = top[node_name];
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return null;
  const sign = typeof top['sign'] === 'string' ? top['sign'] : null;
  // The key occurs once at the top level; find its text and the object after its colon.
  const keyPattern = new RegExp(`"${node_name}"\\s*:`, 'g');
  const hits = [...body.matchAll(keyPattern)];
  for (const hit of hits) {
    const extent = objectExtent(body, (hit.index ?? 0) + hit[0].length);
    if (extent === null) continue;
    const node_text = body.slice(extent.start, extent.end);
    let reparsed: unknown;
    try {
      reparsed = JSON.parse(node_text);
    } catch {
      continue;
    }
    if (JSON.stringify(reparsed) === JSON.stringify(node)) return { node_text, node: node as Record<string, unknown>, sign, node_name };
  }
  return null;
}

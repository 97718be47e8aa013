// WeChat Pay API v3 signatures and the notification cipher (pay.weixin.qq.com, "签名生成",
// "签名验证", "证书和回调报文解密"). No I/O; the nonce and time are arguments.
//
// Request:  Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."
//           signature = base64(SHA256withRSA(merchant private key, "METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n"))
// Response and notification: Wechatpay-Timestamp, Wechatpay-Nonce, Wechatpay-Signature, Wechatpay-Serial,
//           signature = base64(SHA256withRSA(platform private key, "timestamp\nnonce\nbody\n")); an empty
//           body (204) leaves the last line a bare "\n".
// Resource: AEAD_AES_256_GCM with the 32-byte APIv3 key, a 12-character nonce, associated_data as
//           AAD; ciphertext is base64(encrypted bytes || 16-byte tag).
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

export const authorizationScheme = 'WECHATPAY2-SHA256-RSA2048';
const gcmTagBytes = 16;

export function requestSignatureMessage(method: string, pathWithQuery: string, timestamp: string, nonce: string, body: string): string {
  if (!/^[A-Z]+$/.test(method)) throw new Error(`requestSignatureMessage: bad method ${method}`);
  if (!pathWithQuery.startsWith('/')) throw new Error('requestSignatureMessage: the URL must be the absolute path (with its query)');
  return `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

export function responseSignatureMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export function privateKeyFrom(pem: string | KeyObject): KeyObject {
  return typeof pem === 'string' ? createPrivateKey(pem) : pem;
}

export function publicKeyFrom(pem: string | KeyObject): KeyObject {
  return typeof pem === 'string' ? createPublicKey(pem) : pem;
}

export function signSha256WithRsa(message: string, privateKey: KeyObject): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

/** False for a signature that does not verify or is not even base64 of the right size. */
export function verifySha256WithRsa(message: string, signatureBase64: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    return createVerify('RSA-SHA256').update(message, 'utf8').verify(publicKey, signatureBase64, 'base64');
  } catch {
    return false;
  }
}

export interface AuthorizationFields {
  readonly mchid: string;
  readonly nonce_str: string;
  readonly signature: string;
  readonly timestamp: string;
  readonly serial_no: string;
}

export function authorizationHeader(fields: AuthorizationFields): string {
  for (const [name, value] of Object.entries(fields)) {
    if (value.includes('"') || value === '') throw new Error(`authorizationHeader: bad ${name}`);
  }
  const { mchid, nonce_str, signature, timestamp, serial_no } = fields;
  return `${authorizationScheme} mchid="${mchid}",nonce_str="${nonce_str}",signature="${signature}",timestamp="${timestamp}",serial_no="${serial_no}"`;
}

export interface AesGcmResource {
  readonly ciphertext: string; // base64 of encrypted bytes || tag
  readonly nonce: string;
  readonly associated_data: string;
}

export function apiV3KeyBytes(apiV3Key: string): Buffer {
  const key = Buffer.from(apiV3Key, 'utf8');
  if (key.length !== 32) throw new Error('the APIv3 key must be 32 bytes');
  return key;
}

export function encryptResource(plaintext: string, apiV3Key: string, nonce: string, associated_data: string): AesGcmResource {
  const iv = Buffer.from(nonce, 'utf8');
  if (iv.length !== 12) throw new Error('encryptResource: the nonce must be 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', apiV3KeyBytes(apiV3Key), iv);
  cipher.setAAD(Buffer.from(associated_data, 'utf8'));
  const encrypted = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: encrypted.toString('base64'), nonce, associated_data };
}

/** The plaintext, or null when the key, nonce, AAD or ciphertext do not authenticate. */
export function decryptResource(resource: AesGcmResource, apiV3Key: string): string | null {
  const iv = Buffer.from(resource.nonce, 'utf8');
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (iv.length !== 12 || data.length < gcmTagBytes) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', apiV3KeyBytes(apiV3Key), iv, { authTagLength: gcmTagBytes });
    decipher.setAAD(Buffer.from(resource.associated_data, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - gcmTagBytes));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - gcmTagBytes)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface SignedHeaders {
  readonly timestamp: string | undefined;
  readonly nonce: string | undefined;
  readonly signature: string | undefined;
  readonly serial: string | undefined;
}

/**
 * Checks Wechatpay-* headers over a body: the serial names our platform certificate, the
 * signature verifies with its key, and the timestamp is within the tolerance of now.
 */
export function verifyWechatSignature(
  headers: SignedHeaders,
  body: string,
  platform: { readonly serial_no: string; readonly public_key: KeyObject },
  now_seconds: number,
  tolerance_seconds: number,
): SignatureCheck {
  const { timestamp, nonce, signature, serial } = headers;
  if (timestamp === undefined || nonce === undefined || signature === undefined || serial === undefined) return { ok: false, reason: 'missing Wechatpay-* signature headers' };
  if (serial !== platform.serial_no) return { ok: false, reason: `Wechatpay-Serial ${serial} is not our platform certificate` };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed Wechatpay-Timestamp' };
  if (!verifySha256WithRsa(responseSignatureMessage(timestamp, nonce, body), signature, platform.public_key)) return { ok: false, reason: 'signature mismatch' };
  if (Math.abs(now_seconds - Number(timestamp)) > tolerance_seconds) return { ok: false, reason: `timestamp outside the ${tolerance_seconds} s tolerance` };
  return { ok: true };
}

/** One header's value, case-insensitively; several values of one header count as none (refused). */
export function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
    return value;
  }
  return undefined;
}

export function signedHeadersOf(headers: Readonly<Record<string, string | string[] | undefined>>): SignedHeaders {
  return {
    timestamp: headerValue(headers, 'wechatpay-timestamp'),
    nonce: headerValue(headers, 'wechatpay-nonce'),
    signature: headerValue(headers, 'wechatpay-signature'),
    serial: headerValue(headers, 'wechatpay-serial'),
  };
}

// The sandbox's side of WeChat Pay API v3 cryptography, written from the spec on its own (not
// shared with the connector, so one misreading cannot hide in both): key pairs and serials,
// parsing and checking the merchant's Authorization header, signing responses and
// notifications with the platform key, and encrypting notification resources.
import { createCipheriv, createVerify, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privatePem: string;
  readonly publicPem: string;
}

export function newRsaKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const alphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomString(length: number, alphabet: string = alphanumeric): string {
  if (!(Number.isInteger(length) && length > 0 && length <= 256)) throw new Error('randomString: bad length');
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= limit) continue;
      out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A certificate serial number as WeChat prints them: 40 upper-case hex digits. */
export const newSerial = (): string => randomBytes(20).toString('hex').toUpperCase();

export interface ParsedAuthorization {
  readonly mchid: string;
  readonly nonce_str: string;
  readonly signature: string;
  readonly timestamp: string;
  readonly serial_no: string;
}

/** `WECHATPAY2-SHA256-RSA2048 k="v",k="v",...` (order free); null when malformed or incomplete. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | null {
  if (header === undefined) return null;
  const match = /^WECHATPAY2-SHA256-RSA2048\s+(.+)$/.exec(header.trim());
  if (match === null || match[1] === undefined) return null;
  const fields = new Map<string, string>();
  for (const part of match[1].split(',')) {
    const pair = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (pair === null || pair[1] === undefined || pair[2] === undefined || fields.has(pair[1])) return null;
    fields.set(pair[1], pair[2]);
  }
  const get = (name: string): string | undefined => fields.get(name);
  const [mchid, nonce_str, signature, timestamp, serial_no] = [get('mchid'), get('nonce_str'), get('signature'), get('timestamp'), get('serial_no')];
  if (mchid === undefined || nonce_str === undefined || signature === undefined || timestamp === undefined || serial_no === undefined) return null;
  return { mchid, nonce_str, signature, timestamp, serial_no };
}

export function verifyMerchantSignature(auth: ParsedAuthorization, method: string, url: string, body: string, merchantPublicKey: KeyObject): boolean {
  const message = [method, url, auth.timestamp, auth.nonce_str, body].join('\n') + '\n';
  try {
    return createVerify('sha256WithRSAEncryption').update(message).verify(merchantPublicKey, Buffer.from(auth.signature, 'base64'));
  } catch {
    return false;
  }
}

export interface PlatformSignature {
  readonly 'Wechatpay-Timestamp': string;
  readonly 'Wechatpay-Nonce': string;
  readonly 'Wechatpay-Signature': string;
  readonly 'Wechatpay-Serial': string;
  readonly 'Wechatpay-Signature-Type': string;
}

/** The Wechatpay-* headers of a response or notification: the platform key's signature over "timestamp\nnonce\nbody\n". */
export function platformSignature(body: string, timestamp_seconds: number, platformPrivateKey: KeyObject, platformSerial: string): PlatformSignature {
  const nonce = randomString(32);
  const signature = createSign('sha256WithRSAEncryption').update(`${timestamp_seconds}\n${nonce}\n${body}\n`).sign(platformPrivateKey).toString('base64');
  return {
    'Wechatpay-Timestamp': String(timestamp_seconds),
    'Wechatpay-Nonce': nonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': platformSerial,
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  };
}

export interface EncryptedResource {
  readonly algorithm: 'AEAD_AES_256_GCM';
  readonly ciphertext: string;
  readonly nonce: string;
  readonly associated_data: string;
  readonly original_type: string;
}

/** AEAD_AES_256_GCM with the APIv3 key: ciphertext = base64(encrypted || 16-byte tag). */
export function encryptForMerchant(plaintext: string, apiV3Key: string, associated_data: string, original_type: string): EncryptedResource {
  const nonce = randomString(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associated_data, 'utf8'));
  const sealed = Buffer.concat([cipher.update(Buffer.from(plaintext, 'utf8')), cipher.final(), cipher.getAuthTag()]);
  return { algorithm: 'AEAD_AES_256_GCM', ciphertext: sealed.toString('base64'), nonce, associated_data, original_type };
}

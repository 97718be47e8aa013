import { createHash } from 'node:crypto';
import { sandboxLimits } from './limits.ts';
import { BoundedMap } from './store.ts';

// Stripe's v1 idempotency: the first response (status and body) for a key is saved once the
// endpoint has begun to run, and a retry with the same key and the same parameters gets it back
// with `Idempotent-Replayed: true`. The same key on another endpoint or with other parameters
// is a 400 idempotency_error. Requests rejected before they run (bad auth, an injected 500,
// invalid parameters) save nothing, so their retries run afresh.
// There is no "in progress" state (Stripe's 409): in the sandbox an endpoint runs synchronously
// between the lookup and the save, so two requests with one key can never overlap.

export interface SavedResponse {
  readonly status: number;
  readonly body_json: string;
  readonly request_id: string;
}

/**
 * What is kept per key: the hashed fingerprint and the body as it was sent, as a string. It used
 * to be deflated, which cost more than it saved: each deflated body kept zlib's 16 KB output
 * chunk alive (17.3 KB per payment against 2.3 KB plain, measured), and deflating took about a
 * twentieth of the event loop under the payment benchmark (a sandbox inside Clearway shares it).
 */
interface Entry {
  readonly fingerprint_sha256: string;
  readonly status: number;
  readonly body_json: string;
  readonly request_id: string;
  readonly saved_at_ms: number;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');

export type IdempotencyLookup =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly saved: SavedResponse }
  | { readonly kind: 'mismatch' };

export class IdempotencyStore {
  private readonly saved: BoundedMap<string, Entry>;

  constructor(capacity: number) {
    this.saved = new BoundedMap(capacity);
  }

  lookup(key: string, fingerprint: string, now_ms: number): IdempotencyLookup {
    const entry = this.saved.get(key);
    if (entry === undefined) return { kind: 'new' };
    if (now_ms - entry.saved_at_ms > sandboxLimits.idempotency_retention_ms) {
      this.saved.delete(key); // pruned: Stripe treats a key reused after pruning as a new request
      return { kind: 'new' };
    }
    if (entry.fingerprint_sha256 !== sha256(fingerprint)) return { kind: 'mismatch' };
    return { kind: 'replay', saved: { status: entry.status, body_json: entry.body_json, request_id: entry.request_id } };
  }

  save(key: string, fingerprint: string, response: SavedResponse, now_ms: number): void {
    if (this.saved.has(key)) throw new Error(`idempotency key ${key} saved twice`);
    this.saved.set(key, { fingerprint_sha256: sha256(fingerprint), status: response.status, body_json: response.body_json, request_id: response.request_id, saved_at_ms: now_ms });
  }
}

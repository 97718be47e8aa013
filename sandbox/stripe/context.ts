import type { FaultState } from './faults.ts';
import type { FormObject } from './form.ts';
import type { ApiResult } from './errors.ts';
import type { Json } from './objects.ts';
import type { SandboxStore } from './store.ts';

// What an endpoint sees: the state, the faults, time, and a way to emit events and schedule
// work (late successes). Endpoints are synchronous functions from input to ApiResult.

export interface RequestInfo {
  readonly request_id: string;
  readonly idempotency_key: string | null;
}

export interface EndpointContext {
  readonly store: SandboxStore;
  readonly faults: FaultState;
  readonly late_success_delay_ms: number;
  now_seconds(): number;
  emit(type: string, object: Json, request: RequestInfo): void;
  later(delay_ms: number, run: () => void): void;
}

export interface EndpointInput {
  readonly params: FormObject;
  readonly path: Readonly<Record<string, string>>;
  readonly request: RequestInfo;
}

export type Endpoint = (context: EndpointContext, input: EndpointInput) => ApiResult;

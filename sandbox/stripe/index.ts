// The simulated Stripe: see sandbox.ts for the factory, faults.ts for what each fault does.
export { createStripeSandbox, type LedgerRow, type StripeCredentials, type StripeSandbox, type StripeSandboxOptions } from './sandbox.ts';
export { noFaults, validateFaults, type Faults, type FaultsValidation } from './faults.ts';
export { stripeSignatureHeader, type WebhookStats } from './webhooks.ts';
export { testPaymentMethods } from './payment-methods.ts';
export { sandboxLimits } from './limits.ts';

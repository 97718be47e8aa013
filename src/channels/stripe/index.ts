// The Stripe card connector: connector.ts builds it; transformers.ts holds the status maps.
export { createStripeConnector, type StripeConnector, type StripeConnectorOptions } from './connector.ts';
export type { StripeLogger } from './http.ts';
export { verifyStripeSignature, verifyStripeNotification } from './webhook.ts';
export { stripeConnectorLimits } from './limits.ts';

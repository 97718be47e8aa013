// The Stripe card connector: connector.ts builds it; transformers.ts holds the status maps.
export { createStripeConnector, type StripeConnectorOptions } from './connector.ts';
export { verifyStripeSignature, verifyStripeNotification } from './webhook.ts';
export { stripeConnectorLimits } from './limits.ts';

import type { CardDetails, CardErrorDetails } from './objects.ts';

// Stripe's test PaymentMethods (https://docs.stripe.com/testing), with the errors Stripe answers.
// The sandbox keeps the token itself as the PaymentIntent's payment_method (Stripe mints a new
// pm_... id for each use of a test token; nothing downstream depends on that difference).

export type CardOutcome = { readonly kind: 'succeed' } | ({ readonly kind: 'decline' } & CardErrorDetails);

export interface TestPaymentMethod {
  readonly card: CardDetails;
  readonly outcome: CardOutcome;
}

const succeed: CardOutcome = { kind: 'succeed' };

function decline(code: string, decline_code: string | null, message: string, param: string | null = null): CardOutcome {
  return { kind: 'decline', code, decline_code, message, param };
}

const visa = (last4: string): CardDetails => ({ brand: 'visa', last4, funding: 'credit' });

export const testPaymentMethods: Readonly<Record<string, TestPaymentMethod>> = Object.freeze({
  pm_card_visa: { card: visa('4242'), outcome: succeed },
  pm_card_visa_debit: { card: { brand: 'visa', last4: '5556', funding: 'debit' }, outcome: succeed },
  pm_card_mastercard: { card: { brand: 'mastercard', last4: '4444', funding: 'credit' }, outcome: succeed },
  pm_card_amex: { card: { brand: 'amex', last4: '8431', funding: 'credit' }, outcome: succeed },
  pm_card_chargeDeclined: { card: visa('0002'), outcome: decline('card_declined', 'generic_decline', 'Your card was declined.') },
  pm_card_chargeDeclinedInsufficientFunds: {
    card: visa('9995'),
    outcome: decline('card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
  },
  pm_card_chargeDeclinedFraudulent: { card: visa('0019'), outcome: decline('card_declined', 'fraudulent', 'Your card was declined.') },
  pm_card_chargeDeclinedLostCard: { card: visa('9987'), outcome: decline('card_declined', 'lost_card', 'Your card was declined.') },
  pm_card_chargeDeclinedStolenCard: { card: visa('9979'), outcome: decline('card_declined', 'stolen_card', 'Your card was declined.') },
  pm_card_chargeDeclinedIncorrectCvc: {
    card: visa('0127'),
    outcome: decline('incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect.", 'cvc'),
  },
  pm_card_chargeDeclinedExpiredCard: {
    card: visa('0069'),
    outcome: decline('expired_card', 'expired_card', 'Your card has expired.', 'exp_month'),
  },
  pm_card_chargeDeclinedProcessingError: {
    card: visa('0119'),
    outcome: decline('processing_error', 'processing_error', 'An error occurred while processing your card. Try again in a little bit.'),
  },
});

export function findTestPaymentMethod(id: string): TestPaymentMethod | undefined {
  return Object.prototype.hasOwnProperty.call(testPaymentMethods, id) ? testPaymentMethods[id] : undefined;
}

// The Alipay connector: connector.ts builds it; transformers.ts holds the code and status maps.
export { createAlipayConnector, type AlipayConnector, type AlipayConnectorOptions } from './connector.ts';
export type { AlipayLogger } from './http.ts';
export type { AlipayCloseOutcome } from './transformers.ts';
export { answerAlipayNotification, verifyAlipayNotification } from './notification.ts';
export { alipayCurrency, fromYuanString, toYuanString } from './amount.ts';
export { alipayConnectorLimits } from './limits.ts';

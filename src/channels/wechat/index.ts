// The WeChat Pay connector: connector.ts builds it; transformers.ts holds the status maps.
export { createWechatPayConnector, type WechatPayConnector, type WechatPayConnectorOptions } from './connector.ts';
export type { WechatLogger } from './http.ts';
export { verifyWechatNotification, answerWechatNotification } from './notification.ts';
export { tradeStateMap, refundStatusMap, type WechatCloseOutcome } from './transformers.ts';
export { wechatConnectorLimits } from './limits.ts';

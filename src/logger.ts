import pino, { type Logger } from 'pino';

// JSON logs; secrets never reach them.
export const redactedPaths = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'api_key',
  '*.api_key',
  'secret',
  '*.secret',
  'secret_key',
  '*.secret_key',
  'payment_method_data',
  '*.payment_method_data',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'clearway' } }, destination);
}

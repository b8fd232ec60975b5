/** The pino root logger; requests and jobs take child loggers that carry their trace id. */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that must never reach a log: keys, passwords, card numbers. */
export const redactPaths = [
  'req.headers.authorization',
  'headers.authorization',
  '*.password',
  '*.payment_password',
  '*.card_no',
  '*.api_key',
  '*.token',
  '*.sms_code',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, destination as never);
}

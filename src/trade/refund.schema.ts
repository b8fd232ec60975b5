/** The body of a refund request: a trade's (`/v1/trades/{id}/refunds`) and a recharge's (`/v1/recharges/{id}/refunds`). */
import { amountSchema, outNoSchema } from '../http/index.js';

export const refundBody = {
  type: 'object',
  required: ['out_refund_no', 'amount'],
  additionalProperties: false,
  properties: { out_refund_no: outNoSchema, amount: amountSchema, reason: { type: 'string', maxLength: 256 } },
} as const;

export interface RefundBody {
  out_refund_no: string;
  amount: number;
  reason?: string;
}

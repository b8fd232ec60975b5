/** Row types of the marketing schema. */
import type { Generated, Selectable } from 'kysely';

export type ToolKind = 'coupon' | 'red_packet';
export type ToolStatus = 'issuing' | 'available' | 'reserved' | 'used' | 'expired';
export type FenceStatus = 'tried' | 'confirmed' | 'cancelled';

export interface ToolTable {
  id: string;
  client_id: string;
  member_id: string;
  kind: ToolKind;
  amount: bigint;
  currency: string;
  status: ToolStatus;
  expires_at: Date | null;
  /** The TCC activity holding a reserved tool (null when not reserved). */
  reserved_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ExpiryTable {
  tool_id: string;
  returned: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface TccFenceTable {
  activity: string;
  tool_id: string;
  status: FenceStatus;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface MarketingDB {
  'marketing.tool': ToolTable;
  'marketing.expiry': ExpiryTable;
  'marketing.tcc_fence': TccFenceTable;
}

export type ToolRow = Selectable<ToolTable>;
export type TccFenceRow = Selectable<TccFenceTable>;

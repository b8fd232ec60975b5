/** Row types of the risk schema. */
import type { Generated } from 'kysely';

export interface ClientLimitTable {
  client_id: string;
  tool: string;
  single_limit: bigint | null;
  daily_limit: bigint | null;
  password_threshold: bigint | null;
  updated_at: Generated<Date>;
}

export interface BlacklistTable {
  member_id: string;
  reason: string;
  created_at: Generated<Date>;
}

export interface UsageTable {
  reference: string;
  member_id: string;
  tool: string;
  day: string;
  amount: bigint;
  created_at: Generated<Date>;
}

export interface RiskDB {
  'risk.client_limit': ClientLimitTable;
  'risk.blacklist': BlacklistTable;
  'risk.usage': UsageTable;
}

/**
 * The ledger's self-check (API.md `GET /admin/ledger/check`): every voucher balanced, every
 * currency's balances summing to zero, no account below its floor, every balance equal to the
 * sum of its entries and to its last balance_after, every frozen equal to its open holds.
 * Full scans, run in one REPEATABLE READ snapshot by the caller so the figures agree.
 */
import type { CheckReport } from './ledger.types.js';
import type { Executor } from './sql.executor.js';

const allEntries = `(select voucher_id, account_id, amount from ledger.entry
                     union all select voucher_id, account_id, amount from ledger.pending_entry)`;

async function byCurrency(exec: Executor): Promise<CheckReport['by_currency']> {
  const flows = await exec(
    `select a.currency, coalesce(sum(-e.amount) filter (where e.amount < 0), 0) as debits,
            coalesce(sum(e.amount) filter (where e.amount > 0), 0) as credits
     from ${allEntries} e join ledger.account a on a.id = e.account_id group by a.currency`,
    [],
  );
  const sums = await exec(
    `select a.currency, sum(a.posted
       + coalesce((select sum(p.amount) from ledger.pending_entry p where p.account_id = a.id), 0)
       + coalesce((select sum(s.posted) from ledger.sub_account s where s.account_id = a.id), 0))::bigint as balance_sum
     from ledger.account a group by a.currency`,
    [],
  );
  const result: Record<string, { debits: bigint; credits: bigint; balance_sum: bigint }> = {};
  for (const row of sums) result[row.currency as string] = { debits: 0n, credits: 0n, balance_sum: BigInt(row.balance_sum as bigint) };
  for (const row of flows) {
    const entry = (result[row.currency as string] ??= { debits: 0n, credits: 0n, balance_sum: 0n });
    entry.debits = BigInt(row.debits as bigint);
    entry.credits = BigInt(row.credits as bigint);
  }
  return result;
}

async function unbalancedVouchers(exec: Executor): Promise<string[]> {
  const rows = await exec(
    `select v.id from ledger.voucher v
     left join (select voucher_id, sum(amount) as total, count(*) as n from ${allEntries} e group by voucher_id) x on x.voucher_id = v.id
     where x.voucher_id is null or x.total <> 0 or x.n < 2
     union
     select e.voucher_id from ${allEntries} e where not exists (select 1 from ledger.voucher v where v.id = e.voucher_id)
     limit 100`,
    [],
  );
  return rows.map((row) => row.id as string);
}

async function belowFloor(exec: Executor): Promise<string[]> {
  const rows = await exec(
    `select a.id from ledger.account a
     where a.floor is not null and (
       (a.hot <> 'sub_accounts' and a.posted + coalesce((select sum(p.amount) from ledger.pending_entry p where p.account_id = a.id), 0) - a.frozen < a.floor)
       or exists (select 1 from ledger.sub_account s where s.account_id = a.id
                  and s.posted - s.frozen < case when s.slot = 0 then a.floor else 0 end))
     limit 100`,
    [],
  );
  return rows.map((row) => row.id as string);
}

/**
 * Per account (and slot): balance = the sum of its entries, and = its last balance_after. Each
 * is one pass that groups a UNION ALL of balances and entries, never a join of large sets: a
 * planner's join choice over these full scans took minutes on a million entries.
 */
async function mismatched(exec: Executor): Promise<string[]> {
  const sums = await exec(
    `select account_id || ':' || slot as id from (
       select a.id as account_id, -1 as slot, a.posted as balance, 0::bigint as amount from ledger.account a
       union all
       select s.account_id, s.slot, s.posted, 0 from ledger.sub_account s
       union all
       select e.account_id, coalesce(e.slot, -1), 0, e.amount from ledger.entry e
     ) x
     group by account_id, slot
     having sum(balance) <> sum(amount)
     limit 100`,
    [],
  );
  const lasts = await exec(
    `select account_id || ':' || slot as id from (
       select a.id as account_id, -1 as slot, a.posted as balance, null::bigint as last from ledger.account a
       union all
       select s.account_id, s.slot, s.posted, null from ledger.sub_account s
       union all
       (select distinct on (e.account_id, coalesce(e.slot, -1)) e.account_id, coalesce(e.slot, -1), null, e.balance_after
        from ledger.entry e order by e.account_id, coalesce(e.slot, -1), e.id desc)
     ) x
     group by account_id, slot
     having max(last) is not null and (max(last) <> max(balance) or max(balance) is null)
     limit 100`,
    [],
  );
  return [...new Set([...sums, ...lasts].map((row) => row.id as string))];
}

/** frozen = the remaining of the open holds, per account and per slot; closed holds hold nothing. */
async function frozenMismatches(exec: Executor): Promise<string[]> {
  const rows = await exec(
    `select account_id || ':' || slot as id from (
       select a.id as account_id, -1 as slot, a.frozen, 0::bigint as remaining from ledger.account a
       union all
       select s.account_id, s.slot, s.frozen, 0 from ledger.sub_account s
       union all
       select h.account_id, coalesce(h.slot, -1), 0, h.remaining from ledger.hold h where h.status = 'held'
     ) x
     group by account_id, slot
     having sum(frozen) <> sum(remaining)
     union all
     select 'hold:' || id from ledger.hold where status <> 'held' and remaining <> 0
     limit 100`,
    [],
  );
  return rows.map((row) => row.id as string);
}

export async function runCheck(exec: Executor): Promise<CheckReport> {
  const by_currency = await byCurrency(exec);
  const unbalanced_vouchers = await unbalancedVouchers(exec);
  const negative_accounts = await belowFloor(exec);
  const mismatched_accounts = await mismatched(exec);
  const frozen_mismatches = await frozenMismatches(exec);
  const buffered = await exec('select count(*) as n from ledger.pending_entry', []);
  const currenciesBalance = Object.values(by_currency).every((c) => c.debits === c.credits && c.balance_sum === 0n);
  return {
    balanced:
      currenciesBalance &&
      unbalanced_vouchers.length === 0 &&
      negative_accounts.length === 0 &&
      mismatched_accounts.length === 0 &&
      frozen_mismatches.length === 0,
    by_currency,
    negative_accounts,
    unbalanced_vouchers,
    mismatched_accounts,
    frozen_mismatches,
    buffered_entries: Number(buffered[0]?.n ?? 0),
  };
}

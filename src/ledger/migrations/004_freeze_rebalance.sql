-- freeze() gains the accounting date, for the rebalancing voucher a hold on a sub-accounts account
-- may need (see below).
drop function ledger.freeze(uuid, text, text, text, uuid, text, bigint, timestamptz);

-- Freezes amount on an account: a hold. Idempotent by (source, reference) with a content hash;
-- a tombstone left by an earlier release refuses it (TCC hanging protection). On a sub-accounts
-- account the hold lives in one slot: when no slot has room enough but the account has, money is
-- first moved into the roomiest slot from the others by a rebalancing voucher (entries on the
-- account's own slots, net zero), dated p_date.
-- Statuses: ok, replayed, duplicate_conflict, hold_cancelled, unknown_account,
-- currency_mismatch, insufficient_funds.
create function ledger.freeze(
  p_id uuid, p_source text, p_reference text, p_hash text, p_account uuid, p_currency text,
  p_amount bigint, p_expires_at timestamptz, p_date date)
returns table (status text, hold_id uuid)
-- (Index lookups only, whatever the table's size when the plan was made: see ledger.post_batch.)
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
#variable_conflict use_column
declare
  h record;
  a record;
  b record;
  buffered bigint;
  best_slot integer;
  best_avail bigint;
  total_room bigint;
  need bigint;
  take bigint;
  slot_posted bigint;
  rebalance_id uuid;
  s record;
begin
  select hd.id, hd.status, hd.content_hash into h from ledger.hold hd where hd.source = p_source and hd.reference = p_reference;
  if found then
    if h.status = 'cancelled_before_try' then return query select 'hold_cancelled'::text, h.id; return; end if;
    return query select case when h.content_hash = p_hash then 'replayed' else 'duplicate_conflict' end, h.id;
    return;
  end if;
  select ac.id, ac.currency, ac.floor, ac.hot, ac.sub_count into a from ledger.account ac where ac.id = p_account;
  if not found then return query select 'unknown_account'::text, null::uuid; return; end if;
  if a.currency <> p_currency then return query select 'currency_mismatch'::text, null::uuid; return; end if;
  if a.hot = 'sub_accounts' then
    -- Holds on a sub-accounts account are rare: lock every slot and freeze in the one with most room.
    total_room := 0;
    for s in
      select sa.slot, sa.posted - sa.frozen - case when a.floor is null then 0 when sa.slot = 0 then a.floor else 0 end as room
      from ledger.sub_account sa where sa.account_id = p_account order by sa.slot for no key update
    loop
      if best_avail is null or s.room > best_avail then best_avail := s.room; best_slot := s.slot; end if;
      total_room := total_room + greatest(s.room, 0);
    end loop;
    if a.floor is not null and best_avail < p_amount then
      if total_room - greatest(best_avail, 0) + best_avail < p_amount then
        return query select 'insufficient_funds'::text, null::uuid; return;
      end if;
      -- Rebalance: take what is missing from the other slots, in slot order, into best_slot.
      need := p_amount - best_avail;
      rebalance_id := gen_random_uuid();
      insert into ledger.voucher (id, source, reference, content_hash, currency, memo, accounting_date)
      values (rebalance_id, 'ledger', 'rebalance:' || p_id::text, 'rebalance', a.currency, 'sub-account rebalance for a hold', p_date);
      for s in
        select sa.slot, sa.posted - sa.frozen - case when sa.slot = 0 then a.floor else 0 end as room
        from ledger.sub_account sa where sa.account_id = p_account and sa.slot <> best_slot order by sa.slot
      loop
        exit when need = 0;
        take := least(need, greatest(s.room, 0));
        continue when take = 0;
        update ledger.sub_account sa set posted = sa.posted - take where sa.account_id = p_account and sa.slot = s.slot returning sa.posted into slot_posted;
        insert into ledger.entry (voucher_id, account_id, slot, amount, balance_after, accounting_date)
        values (rebalance_id, p_account, s.slot, -take, slot_posted, p_date);
        need := need - take;
      end loop;
      update ledger.sub_account sa set posted = sa.posted + (p_amount - best_avail) where sa.account_id = p_account and sa.slot = best_slot returning sa.posted into slot_posted;
      insert into ledger.entry (voucher_id, account_id, slot, amount, balance_after, accounting_date)
      values (rebalance_id, p_account, best_slot, p_amount - best_avail, slot_posted, p_date);
    end if;
    update ledger.sub_account sa set frozen = sa.frozen + p_amount where sa.account_id = p_account and sa.slot = best_slot;
  else
    select ac.posted, ac.frozen into b from ledger.account ac where ac.id = p_account for no key update;
    buffered := 0;
    if a.hot = 'buffered' then
      select coalesce(sum(pe.amount), 0) into buffered from ledger.pending_entry pe where pe.account_id = p_account;
    end if;
    if a.floor is not null and b.posted + buffered - b.frozen - p_amount < a.floor then
      return query select 'insufficient_funds'::text, null::uuid; return;
    end if;
    update ledger.account ac set frozen = ac.frozen + p_amount, updated_at = now() where ac.id = p_account;
  end if;
  insert into ledger.hold (id, source, reference, content_hash, account_id, slot, amount, remaining, status, expires_at)
  values (p_id, p_source, p_reference, p_hash, p_account, best_slot, p_amount, p_amount, 'held', p_expires_at);
  return query select 'ok'::text, p_id;
end
$$;


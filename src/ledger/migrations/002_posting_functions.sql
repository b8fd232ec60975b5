-- The posting engine's server side. One call posts a whole batch in the caller's transaction:
-- the row locks are held only while PostgreSQL itself works, never across a network round trip,
-- which is what bounds the throughput of a hot account. Lock order, everywhere: hold rows (by
-- id), then plain account rows (by id), then buffered account rows (by id), then sub_account
-- rows (by account, slot); vouchers are inserted in (source, reference) order. So batches never
-- deadlock each other. Rows are locked FOR NO KEY UPDATE, the lock an UPDATE of non-key columns
-- takes anyway: it does not block the foreign-key checks (KEY SHARE) of new holds and slots.

-- Posts a batch of vouchers in order; a voucher that fails fails alone. Arrays are parallel:
-- p_* per voucher, h_* per distinct hold, e_* per entry (grouped by voucher, in order). An entry
-- with a null account is the hold's side of a post-from-hold voucher.
-- Statuses: ok, replayed, duplicate_conflict, unknown_account, currency_mismatch,
-- insufficient_funds, hold_not_found, hold_not_held, hold_insufficient, already_reversed,
-- retry_wide (a sub-account slot was short: post again with p_wide so all slots are locked).
create or replace function ledger.post_batch(
  p_voucher uuid[], p_source text[], p_reference text[], p_hash text[], p_currency text[], p_memo text[],
  p_reversal_of uuid[], p_hold integer[], p_hold_amount bigint[], p_hold_complete boolean[], p_wide boolean[],
  h_source text[], h_reference text[],
  e_posting integer[], e_account uuid[], e_amount bigint[],
  p_date date, p_seed integer, p_accounts uuid[], e_index integer[])
returns table (idx integer, status text, voucher_id uuid, detail text)
-- Generic plans: the statements' shapes never change with the batch, so planning them once per
-- session instead of on every call saves a fixed cost per batch. But a generic plan made while a
-- table was small (a fresh database, a new connection early on) was a hash join over a full scan
-- of ledger.voucher, kept while the table grew: every batch then read the whole table. Every
-- statement here is a small array joined to a table by an index, so only nested loops over index
-- scans are allowed, whatever the table's size when the plan was made.
language plpgsql
set plan_cache_mode = force_generic_plan set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off
as $$
#variable_conflict use_column
declare
  n integer := coalesce(array_length(p_voucher, 1), 0);
  m integer := coalesce(array_length(e_posting, 1), 0);
  nh integer := coalesce(array_length(h_source, 1), 0);
  st text[] := array_fill(null::text, array[n]);
  vid uuid[] := p_voucher;
  det text[] := array_fill(null::text, array[n]);
  p_first integer[] := array_fill(null::integer, array[n]);
  p_last integer[] := array_fill(null::integer, array[n]);
  e_acct uuid[] := e_account;
  e_aidx integer[];
  -- holds, by index into h_*
  hid uuid[] := array_fill(null::uuid, array[nh]);
  hacct uuid[] := array_fill(null::uuid, array[nh]);
  hslot integer[] := array_fill(null::integer, array[nh]);
  hrem bigint[] := array_fill(null::bigint, array[nh]);
  hstat text[] := array_fill(null::text, array[nh]);
  hdirty boolean[] := array_fill(false, array[nh]);
  -- accounts, by index into a_id (sorted, distinct)
  a_id uuid[];
  na integer;
  a_cur text[]; a_floor bigint[]; a_hot text[]; a_sub integer[];
  a_posted bigint[]; a_frozen bigint[];
  a_lock boolean[]; a_dirty boolean[]; a_slot integer[]; a_soff integer[];
  a_block boolean := false;
  -- slots, flat: account i's slot s is at a_soff[i] + s + 1
  ns integer := 0;
  s_acct uuid[]; s_num integer[]; s_floor bigint[];
  s_posted bigint[]; s_frozen bigint[]; s_lock boolean[]; s_dirty boolean[];
  -- entries to write
  o_v integer[] := '{}'; o_acct uuid[] := '{}'; o_slot integer[] := '{}'; o_amt bigint[] := '{}';
  o_bal bigint[] := '{}'; o_pend boolean[] := '{}';
  no integer := 0; no0 integer;
  -- undo log of one voucher: kind 'a' account / 's' slot, index, old posted, old frozen
  u_kind text[]; u_idx integer[]; u_posted bigint[]; u_frozen bigint[]; nu integer;
  reversed uuid[] := '{}';
  r record;
  i integer; k integer; ai integer; si integer; hk integer; j integer;
  x bigint; need bigint; take bigint; avail bigint;
  reason text; old_hrem bigint; old_hstat text;
begin
  if n = 0 then return; end if;
  for k in 1 .. m loop
    i := e_posting[k];
    if p_first[i] is null then p_first[i] := k; end if;
    p_last[i] := k;
  end loop;

  -- Repeats: the same (source, reference) already posted.
  for r in
    select x.i, v.id, v.content_hash
    from unnest(p_source, p_reference) with ordinality as x(src, ref, i)
    join ledger.voucher v on v.source = x.src and v.reference = x.ref
  loop
    vid[r.i] := r.id;
    st[r.i] := case when r.content_hash = p_hash[r.i] then 'replayed' else 'duplicate_conflict' end;
  end loop;
  if cardinality(array_remove(p_reversal_of, null)) > 0 then
    for r in select v.reversal_of from ledger.voucher v where v.reversal_of = any(p_reversal_of) loop
      reversed := reversed || r.reversal_of;
    end loop;
  end if;

  -- Holds, locked first (by id).
  if nh > 0 then
    for r in
      select x.i, h.id, h.account_id, h.slot, h.remaining, h.status
      from ledger.hold h
      join unnest(h_source, h_reference) with ordinality as x(src, ref, i) on h.source = x.src and h.reference = x.ref
      order by h.id
      for no key update of h
    loop
      hid[r.i] := r.id; hacct[r.i] := r.account_id; hslot[r.i] := r.slot; hrem[r.i] := r.remaining; hstat[r.i] := r.status;
    end loop;
    for k in 1 .. m loop
      if e_acct[k] is null then e_acct[k] := hacct[p_hold[e_posting[k]]]; end if;
    end loop;
  end if;

  -- The batch's accounts, sorted and distinct, and each entry's index among them: the caller's
  -- (p_accounts, e_index) unless a hold brought in an account the caller could not know.
  if nh = 0 then
    a_id := p_accounts; e_aidx := e_index;
  else
    select array_agg(d.id order by d.id) into a_id from (select distinct y.id from unnest(e_acct) as y(id) where y.id is not null) d;
    select array_agg(a.i::integer order by e.ord) into e_aidx
    from unnest(e_acct) with ordinality as e(id, ord) left join unnest(a_id) with ordinality as a(id, i) on a.id = e.id;
  end if;
  na := coalesce(array_length(a_id, 1), 0);
  a_cur := array_fill(null::text, array[na]); a_floor := array_fill(null::bigint, array[na]);
  a_hot := array_fill(null::text, array[na]); a_sub := array_fill(0, array[na]);
  a_posted := array_fill(0::bigint, array[na]); a_frozen := array_fill(0::bigint, array[na]);
  a_lock := array_fill(false, array[na]); a_dirty := array_fill(false, array[na]);
  a_slot := array_fill(null::integer, array[na]); a_soff := array_fill(null::integer, array[na]);
  -- Plain accounts are read and locked in one statement (by id); hot ones are only read.
  j := 0;
  for r in
    select a.i, ac.currency, ac.floor, ac.hot, ac.sub_count, ac.posted, ac.frozen
    from ledger.account ac join unnest(a_id) with ordinality as a(id, i) on a.id = ac.id
    where ac.hot = 'none'
    order by ac.id
    for no key update of ac
  loop
    a_cur[r.i] := r.currency; a_floor[r.i] := r.floor; a_hot[r.i] := r.hot; a_sub[r.i] := r.sub_count;
    a_posted[r.i] := r.posted; a_frozen[r.i] := r.frozen; a_lock[r.i] := true; j := j + 1;
  end loop;
  if j < na then
    for r in
      select a.i, ac.currency, ac.floor, ac.hot, ac.sub_count
      from ledger.account ac join unnest(a_id) with ordinality as a(id, i) on a.id = ac.id
      where ac.hot <> 'none'
    loop
      a_cur[r.i] := r.currency; a_floor[r.i] := r.floor; a_hot[r.i] := r.hot; a_sub[r.i] := r.sub_count;
    end loop;
  end if;

  -- What to lock: plain accounts always; a buffered account only when a voucher debits it against
  -- a floor or posts from a hold on it; sub-accounts lock one slot per batch (all for wide ones).
  for i in 1 .. na loop
    if a_hot[i] = 'sub_accounts' then
      a_soff[i] := ns; a_slot[i] := (p_seed + i) % a_sub[i]; ns := ns + a_sub[i];
    end if;
  end loop;
  s_acct := array_fill(null::uuid, array[ns]); s_num := array_fill(null::integer, array[ns]);
  s_floor := array_fill(null::bigint, array[ns]);
  s_posted := array_fill(0::bigint, array[ns]); s_frozen := array_fill(0::bigint, array[ns]);
  s_lock := array_fill(false, array[ns]); s_dirty := array_fill(false, array[ns]);
  for i in 1 .. na loop
    if a_hot[i] = 'sub_accounts' then
      for j in 0 .. a_sub[i] - 1 loop
        s_acct[a_soff[i] + j + 1] := a_id[i]; s_num[a_soff[i] + j + 1] := j;
        s_floor[a_soff[i] + j + 1] := case when a_floor[i] is null then null when j = 0 then a_floor[i] else 0 end;
      end loop;
      s_lock[a_soff[i] + a_slot[i] + 1] := true;
    end if;
  end loop;
  for k in 1 .. m loop
    i := e_posting[k]; ai := e_aidx[k];
    if st[i] is not null or ai is null or a_cur[ai] is null then continue; end if;
    if a_hot[ai] = 'buffered' and ((e_account[k] is null) or (e_amount[k] < 0 and a_floor[ai] is not null)) then
      a_lock[ai] := true; a_block := true;
    elsif a_hot[ai] = 'sub_accounts' then
      if e_account[k] is null and hslot[p_hold[i]] is not null then
        s_lock[a_soff[ai] + hslot[p_hold[i]] + 1] := true;
      elsif p_wide[i] and e_amount[k] < 0 then
        for j in 0 .. a_sub[ai] - 1 loop s_lock[a_soff[ai] + j + 1] := true; end loop;
      end if;
    end if;
  end loop;

  -- Buffered accounts that a voucher debits against a floor (or posts from a hold on) are locked
  -- after the plain ones (the lock order is: plain by id, then buffered by id), and their true
  -- balance includes what is still buffered.
  if a_block then
    for r in
      select a.i, ac.posted, ac.frozen
      from ledger.account ac join unnest(a_id) with ordinality as a(id, i) on a.id = ac.id
      where a_lock[a.i] and ac.hot = 'buffered'
      order by ac.id
      for no key update of ac
    loop
      a_posted[r.i] := r.posted; a_frozen[r.i] := r.frozen;
    end loop;
    for r in
      select a.i, sum(pe.amount) as buffered
      from ledger.pending_entry pe join unnest(a_id) with ordinality as a(id, i) on a.id = pe.account_id
      where a_lock[a.i] and a_hot[a.i] = 'buffered'
      group by a.i
    loop
      a_posted[r.i] := a_posted[r.i] + r.buffered;
    end loop;
  end if;
  if ns > 0 then
    for r in
      select s.i, sa.posted, sa.frozen
      from ledger.sub_account sa
      join unnest(s_acct, s_num) with ordinality as s(acct, slot, i) on sa.account_id = s.acct and sa.slot = s.slot
      where s_lock[s.i]
      order by sa.account_id, sa.slot
      for no key update of sa
    loop
      s_posted[r.i] := r.posted; s_frozen[r.i] := r.frozen;
    end loop;
  end if;

  -- Apply the vouchers in order, in memory.
  for i in 1 .. n loop
    if st[i] is not null then continue; end if;
    reason := null;
    if p_first[i] is null then reason := 'unbalanced'; end if;
    if reason is null and p_hold[i] is not null then
      hk := p_hold[i];
      if hid[hk] is null then reason := 'hold_not_found';
      elsif hstat[hk] <> 'held' then reason := 'hold_not_held';
      elsif p_hold_amount[i] > hrem[hk] then reason := 'hold_insufficient';
      end if;
    end if;
    if reason is null and p_reversal_of[i] is not null and p_reversal_of[i] = any(reversed) then reason := 'already_reversed'; end if;
    if reason is null then
      for k in p_first[i] .. p_last[i] loop
        ai := e_aidx[k];
        if ai is null or a_cur[ai] is null then reason := 'unknown_account'; det[i] := e_account[k]::text; exit; end if;
        if a_cur[ai] <> p_currency[i] then reason := 'currency_mismatch'; det[i] := a_id[ai]::text; exit; end if;
      end loop;
    end if;
    if reason is not null then st[i] := reason; continue; end if;

    no0 := no; nu := 0; u_kind := '{}'; u_idx := '{}'; u_posted := '{}'; u_frozen := '{}';
    if p_hold[i] is not null then old_hrem := hrem[p_hold[i]]; old_hstat := hstat[p_hold[i]]; end if;
    for k in p_first[i] .. p_last[i] loop
      ai := e_aidx[k]; x := e_amount[k];
      if a_hot[ai] = 'sub_accounts' then
        if e_account[k] is null then si := a_soff[ai] + hslot[p_hold[i]] + 1;
        else si := a_soff[ai] + a_slot[ai] + 1;
        end if;
        if x < 0 and e_account[k] is not null and p_wide[i] and a_floor[ai] is not null then
          -- Wide: take the debit from the batch's slot first, then the others in slot order.
          need := -x;
          for j in 0 .. a_sub[ai] - 1 loop
            exit when need = 0;
            si := a_soff[ai] + ((a_slot[ai] + j) % a_sub[ai]) + 1;
            avail := s_posted[si] - s_frozen[si] - s_floor[si];
            take := least(need, greatest(avail, 0));
            if take > 0 then
              nu := nu + 1; u_kind[nu] := 's'; u_idx[nu] := si; u_posted[nu] := s_posted[si]; u_frozen[nu] := s_frozen[si];
              s_posted[si] := s_posted[si] - take; s_dirty[si] := true; need := need - take;
              no := no + 1; o_v[no] := i; o_acct[no] := a_id[ai]; o_slot[no] := s_num[si]; o_amt[no] := -take; o_bal[no] := s_posted[si]; o_pend[no] := false;
            end if;
          end loop;
          if need > 0 then reason := 'insufficient_funds'; det[i] := a_id[ai]::text; exit; end if;
          continue;
        end if;
        nu := nu + 1; u_kind[nu] := 's'; u_idx[nu] := si; u_posted[nu] := s_posted[si]; u_frozen[nu] := s_frozen[si];
        s_posted[si] := s_posted[si] + x; s_dirty[si] := true;
        if e_account[k] is null then s_frozen[si] := s_frozen[si] + x; end if;
        no := no + 1; o_v[no] := i; o_acct[no] := a_id[ai]; o_slot[no] := s_num[si]; o_amt[no] := x; o_bal[no] := s_posted[si]; o_pend[no] := false;
      else
        if a_hot[ai] = 'buffered' and not a_lock[ai] then
          -- A credit (or a debit against no floor) to a buffered account needs no lock and no check.
          if x < 0 and a_floor[ai] is not null then raise exception 'ledger bug: unlocked floored debit on %', a_id[ai]; end if;
        else
          nu := nu + 1; u_kind[nu] := 'a'; u_idx[nu] := ai; u_posted[nu] := a_posted[ai]; u_frozen[nu] := a_frozen[ai];
          a_posted[ai] := a_posted[ai] + x; a_dirty[ai] := true;
          if e_account[k] is null then a_frozen[ai] := a_frozen[ai] + x; end if;
        end if;
        no := no + 1; o_v[no] := i; o_acct[no] := a_id[ai]; o_slot[no] := null; o_amt[no] := x;
        o_bal[no] := case when a_hot[ai] = 'none' then a_posted[ai] end; o_pend[no] := a_hot[ai] = 'buffered';
      end if;
    end loop;

    -- The hold: what is posted leaves frozen; a complete post releases the rest.
    if reason is null and p_hold[i] is not null then
      hk := p_hold[i];
      hrem[hk] := hrem[hk] - p_hold_amount[i]; hdirty[hk] := true;
      if p_hold_complete[i] and hrem[hk] > 0 then
        ai := e_aidx[p_first[i]];
        for k in p_first[i] .. p_last[i] loop if e_account[k] is null then ai := e_aidx[k]; end if; end loop;
        if a_hot[ai] = 'sub_accounts' then
          si := a_soff[ai] + hslot[hk] + 1;
          nu := nu + 1; u_kind[nu] := 's'; u_idx[nu] := si; u_posted[nu] := s_posted[si]; u_frozen[nu] := s_frozen[si];
          s_frozen[si] := s_frozen[si] - hrem[hk]; s_dirty[si] := true;
        else
          nu := nu + 1; u_kind[nu] := 'a'; u_idx[nu] := ai; u_posted[nu] := a_posted[ai]; u_frozen[nu] := a_frozen[ai];
          a_frozen[ai] := a_frozen[ai] - hrem[hk]; a_dirty[ai] := true;
        end if;
        hrem[hk] := 0;
      end if;
      if hrem[hk] = 0 then hstat[hk] := 'posted'; end if;
    end if;

    -- The floor, checked on what this voucher debited.
    if reason is null then
      for k in p_first[i] .. p_last[i] loop
        ai := e_aidx[k];
        if e_amount[k] >= 0 or a_floor[ai] is null then continue; end if;
        if a_hot[ai] = 'sub_accounts' then
          if p_wide[i] and e_account[k] is not null then continue; end if;
          si := case when e_account[k] is null then a_soff[ai] + hslot[p_hold[i]] + 1 else a_soff[ai] + a_slot[ai] + 1 end;
          if s_posted[si] - s_frozen[si] < s_floor[si] then
            reason := case when e_account[k] is null then 'insufficient_funds' else 'retry_wide' end;
            det[i] := a_id[ai]::text; exit;
          end if;
        elsif a_posted[ai] - a_frozen[ai] < a_floor[ai] then
          reason := 'insufficient_funds'; det[i] := a_id[ai]::text; exit;
        end if;
      end loop;
    end if;

    if reason is not null then
      for j in reverse nu .. 1 loop
        if u_kind[j] = 'a' then a_posted[u_idx[j]] := u_posted[j]; a_frozen[u_idx[j]] := u_frozen[j];
        else s_posted[u_idx[j]] := u_posted[j]; s_frozen[u_idx[j]] := u_frozen[j];
        end if;
      end loop;
      no := no0;
      if p_hold[i] is not null then hrem[p_hold[i]] := old_hrem; hstat[p_hold[i]] := old_hstat; end if;
      st[i] := reason;
    else
      st[i] := 'ok';
      if p_reversal_of[i] is not null then reversed := reversed || p_reversal_of[i]; end if;
    end if;
  end loop;

  -- Write, set-based.
  insert into ledger.voucher (id, source, reference, content_hash, currency, memo, accounting_date, reversal_of, hold_id)
  select x.id, x.src, x.ref, x.hash, x.cur, x.memo, p_date, x.rev, case when x.hold is null then null else hid[x.hold] end
  from unnest(p_voucher, p_source, p_reference, p_hash, p_currency, p_memo, p_reversal_of, p_hold) with ordinality
    as x(id, src, ref, hash, cur, memo, rev, hold, i)
  where st[x.i] = 'ok'
  order by x.src, x.ref;
  if no > 0 and not (true = all(o_pend[1:no])) then
    insert into ledger.entry (voucher_id, account_id, slot, amount, balance_after, accounting_date)
    select vid[o.v], o.acct, o.slot, o.amt, o.bal, p_date
    from unnest(o_v[1:no], o_acct[1:no], o_slot[1:no], o_amt[1:no], o_bal[1:no], o_pend[1:no]) with ordinality as o(v, acct, slot, amt, bal, pend, ord)
    where not o.pend and st[o.v] = 'ok'
    order by o.ord;
  end if;
  if no > 0 and true = any(o_pend[1:no]) then
    insert into ledger.pending_entry (voucher_id, account_id, amount, accounting_date)
    select vid[o.v], o.acct, o.amt, p_date
    from unnest(o_v[1:no], o_acct[1:no], o_amt[1:no], o_pend[1:no]) with ordinality as o(v, acct, amt, pend, ord)
    where o.pend and st[o.v] = 'ok'
    order by o.ord;
  end if;
  -- A buffered account's posted moves only through the folder; only its frozen is written here.
  if true = any(a_dirty) then
    update ledger.account ac
    set posted = case when ac.hot = 'none' then a.posted else ac.posted end, frozen = a.frozen, updated_at = now()
    from unnest(a_id, a_posted, a_frozen, a_dirty) as a(id, posted, frozen, dirty)
    where ac.id = a.id and a.dirty;
  end if;
  if ns > 0 then
    update ledger.sub_account sa set posted = s.posted, frozen = s.frozen
    from unnest(s_acct, s_num, s_posted, s_frozen, s_dirty) as s(acct, slot, posted, frozen, dirty)
    where sa.account_id = s.acct and sa.slot = s.slot and s.dirty;
  end if;
  if nh > 0 then
    update ledger.hold h set remaining = x.rem, status = x.stat, updated_at = now()
    from unnest(hid, hrem, hstat, hdirty) as x(id, rem, stat, dirty)
    where h.id = x.id and x.dirty;
  end if;

  return query select g.i::integer, st[g.i], vid[g.i], det[g.i] from generate_series(1, n) as g(i);
end
$$;

-- Freezes amount on an account: a hold. Idempotent by (source, reference) with a content hash;
-- a tombstone left by an earlier release refuses it (TCC hanging protection).
-- Statuses: ok, replayed, duplicate_conflict, hold_cancelled, unknown_account,
-- currency_mismatch, insufficient_funds.
create or replace function ledger.freeze(
  p_id uuid, p_source text, p_reference text, p_hash text, p_account uuid, p_currency text,
  p_amount bigint, p_expires_at timestamptz)
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
    for s in
      select sa.slot, sa.posted - sa.frozen - case when a.floor is null then 0 when sa.slot = 0 then a.floor else 0 end as room
      from ledger.sub_account sa where sa.account_id = p_account order by sa.slot for no key update
    loop
      if best_avail is null or s.room > best_avail then best_avail := s.room; best_slot := s.slot; end if;
    end loop;
    if a.floor is not null and best_avail < p_amount then return query select 'insufficient_funds'::text, null::uuid; return; end if;
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

-- Releases a hold's remaining amount. Idempotent; a release of a hold never made leaves a
-- tombstone (status cancelled_before_try) so that a late freeze with that key is refused.
-- With p_expired_before set, only a hold that expired before then is released (the expiry worker).
-- Statuses: released, replayed, cancelled_before_try, hold_already_posted, not_expired.
create or replace function ledger.release(p_tombstone_id uuid, p_source text, p_reference text, p_expired_before timestamptz)
returns table (status text, hold_id uuid)
-- (Index lookups only, whatever the table's size when the plan was made: see ledger.post_batch.)
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
#variable_conflict use_column
declare
  h record;
begin
  select hd.id, hd.status, hd.account_id, hd.slot, hd.remaining, hd.expires_at into h
  from ledger.hold hd where hd.source = p_source and hd.reference = p_reference for no key update;
  if not found then
    if p_expired_before is not null then return query select 'not_expired'::text, null::uuid; return; end if;
    insert into ledger.hold (id, source, reference, content_hash, account_id, amount, remaining, status)
    values (p_tombstone_id, p_source, p_reference, '', null, 0, 0, 'cancelled_before_try')
    on conflict (source, reference) do nothing;
    if found then return query select 'cancelled_before_try'::text, p_tombstone_id; return; end if;
    -- A concurrent freeze or release won the key; answer as for an existing hold.
    return query select * from ledger.release(p_tombstone_id, p_source, p_reference, p_expired_before);
    return;
  end if;
  if h.status in ('released', 'cancelled_before_try') then return query select 'replayed'::text, h.id; return; end if;
  if h.status = 'posted' then return query select 'hold_already_posted'::text, h.id; return; end if;
  if p_expired_before is not null and (h.expires_at is null or h.expires_at > p_expired_before) then
    return query select 'not_expired'::text, h.id; return;
  end if;
  if h.slot is not null then
    update ledger.sub_account sa set frozen = sa.frozen - h.remaining where sa.account_id = h.account_id and sa.slot = h.slot;
  else
    update ledger.account ac set frozen = ac.frozen - h.remaining, updated_at = now() where ac.id = h.account_id;
  end if;
  update ledger.hold hd set status = 'released', remaining = 0, updated_at = now() where hd.id = h.id;
  return query select 'released'::text, h.id;
end
$$;

-- Folds up to p_limit buffered entries of one account into ledger.entry (with balance_after, in
-- buffer order) and into the account's posted balance. Returns how many it moved.
create or replace function ledger.fold_account(p_account uuid, p_limit integer)
returns integer
-- (Index lookups only, whatever the table's size when the plan was made: see ledger.post_batch.)
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
declare
  base bigint;
  delta bigint;
  moved integer;
  upto bigint;
begin
  select ac.posted into base from ledger.account ac where ac.id = p_account for no key update;
  -- One index range: the account's buffered entries up to the p_limit-th (ones still being
  -- written below it are folded next time, after it).
  select max(p.id) into upto from (
    select pe.id from ledger.pending_entry pe where pe.account_id = p_account order by pe.id limit p_limit
  ) p;
  if upto is null then return 0; end if;
  with moved_rows as (
    delete from ledger.pending_entry pe
    where pe.account_id = p_account and pe.id <= upto
    returning pe.id, pe.voucher_id, pe.amount, pe.accounting_date, pe.created_at
  ), inserted as (
    insert into ledger.entry (voucher_id, account_id, slot, amount, balance_after, accounting_date, created_at)
    select m.voucher_id, p_account, null, m.amount, base + sum(m.amount) over (order by m.id), m.accounting_date, m.created_at
    from moved_rows m order by m.id
    returning amount
  )
  select count(*), coalesce(sum(amount), 0) into moved, delta from inserted;
  if moved > 0 then
    update ledger.account ac set posted = ac.posted + delta, updated_at = now() where ac.id = p_account;
  end if;
  return moved;
end
$$;

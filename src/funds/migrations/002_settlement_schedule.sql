-- Trade days whose T+1 merchant settlement ran to the end (the scheduled worker runs each once).
create table funds.settlement_day (
  date date primary key,
  merchants integer not null,
  finished_at timestamptz not null default now()
);

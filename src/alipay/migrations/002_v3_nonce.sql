-- v3 request nonces seen within the freshness window: a replayed authorization is refused.
create table alipay.v3_nonce (
  app_id text not null,
  nonce text not null,
  expires_at timestamptz not null,
  primary key (app_id, nonce)
);
create index v3_nonce_expiry on alipay.v3_nonce (expires_at);

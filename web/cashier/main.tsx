/**
 * The cashier: the buyer sees the trade and the methods open to them, picks balance or a card,
 * adds coupons and red packets, types the payment password and pays. The link's token (in the URL
 * fragment, never sent to a server by the browser) is moved to sessionStorage and the fragment
 * dropped from the address bar.
 */
import { StrictMode, useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ApiError, money } from '../shared/api.js';
import '../shared/base.css';
import './cashier.css';

interface Tool { id: string; amount: number; expires_at: string | null }
interface CashierTrade { id: string; subject: string; amount: number; currency: string; status: string; paid_amount: number; merchant: string | null }
interface View {
  trade: CashierTrade;
  return_url: string | null;
  payment_password_set: boolean;
  methods: { balance: { available: number } | null; cards: Array<{ id: string; bank: string; last4: string }>; coupons: Tool[]; red_packets: Tool[] };
  sources: Record<string, 'ok' | 'timeout' | 'error'>;
}

const tradeId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] ?? '');
const tokenKey = `paycore-cashier:${tradeId}`;

function takeToken(): string | undefined {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('t');
  if (fromHash) {
    sessionStorage.setItem(tokenKey, fromHash);
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

const token = takeToken();
const auth = token ? `Cashier ${token}` : undefined;

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'PAYMENT_PASSWORD_WRONG') return 'The payment password is wrong.';
    if (error.code === 'INSUFFICIENT_FUNDS') return 'Not enough balance for this payment.';
    if (error.status === 401) return 'This payment link is not valid any more. Go back to the merchant and start again.';
    return error.message;
  }
  return 'The network failed; check your connection and try again.';
}

function Outcome({ trade, returnUrl }: { trade: CashierTrade; returnUrl: string | null }) {
  const paid = trade.status === 'success' || trade.status === 'finished';
  useEffect(() => {
    if (!paid || !returnUrl) return;
    const timer = setTimeout(() => location.assign(returnUrl), 4000);
    return () => clearTimeout(timer);
  }, [paid, returnUrl]);
  return (
    <section className="card" aria-live="polite">
      <h2 className={paid ? 'ok' : trade.status === 'paying' ? '' : 'error'}>
        {paid ? 'Payment complete' : trade.status === 'paying' ? 'Waiting for the bank…' : `Trade ${trade.status.replace('_', ' ')}`}
      </h2>
      <p>{money(trade.paid_amount || trade.amount, trade.currency)} · {trade.subject}</p>
      {returnUrl && (
        <p>
          <a href={returnUrl}>Return to {trade.merchant ?? 'the merchant'}</a>
          {paid && <span className="muted"> (automatically in a few seconds)</span>}
        </p>
      )}
    </section>
  );
}

/** Binding a new card on the page: number, holder and phone; the bank texts a code; the code binds it. */
function AddCard({ onBound }: { onBound(cardId: string): void }) {
  const [open, setOpen] = useState(false);
  const [pending, setPending] = useState<{ id: string; last4: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const base = `/v1/cashier/${encodeURIComponent(tradeId)}/cards`;
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const confirm = () =>
    run(async () => {
      const code = (document.getElementById('sms-code') as HTMLInputElement).value.trim();
      await api(`${base}/${pending!.id}/verify`, auth, { method: 'POST', body: { sms_code: code } });
      onBound(pending!.id);
      setOpen(false);
      setPending(undefined);
    });
  const send = () =>
    run(async () => {
      const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.replace(/\s+/g, '');
      const card = await api<{ id: string; last4: string }>(base, auth, { method: 'POST', body: { card_no: value('card-no'), holder_name: (document.getElementById('card-holder') as HTMLInputElement).value.trim(), phone: value('card-phone') } });
      setPending(card);
    });
  if (!open) return <button type="button" onClick={() => setOpen(true)}>Add a card</button>;
  if (pending)
    return (
      <form onSubmit={(e) => { e.preventDefault(); void confirm(); }}>
        <label className="field" htmlFor="sms-code">Code sent by text message for card ···· {pending.last4}</label>
        <input id="sms-code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} />
        <p>{error && <span role="alert" className="error">{error}</span>}</p>
        <button type="submit" disabled={busy}>Confirm card</button>
      </form>
    );
  return (
    <form onSubmit={(e) => { e.preventDefault(); void send(); }}>
      <label className="field" htmlFor="card-no">Card number</label>
      <input id="card-no" inputMode="numeric" autoComplete="cc-number" maxLength={19} />
      <label className="field" htmlFor="card-holder">Name on the card</label>
      <input id="card-holder" autoComplete="cc-name" />
      <label className="field" htmlFor="card-phone">Phone number at the bank</label>
      <input id="card-phone" type="tel" autoComplete="tel" />
      <p>{error && <span role="alert" className="error">{error}</span>}</p>
      <button type="submit" disabled={busy}>Send code</button>
    </form>
  );
}

function Cashier() {
  const [view, setView] = useState<View>();
  const [loadError, setLoadError] = useState<string>();
  const [source, setSource] = useState<string>('');
  const [tools, setTools] = useState<Set<string>>(new Set());
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [payError, setPayError] = useState<string>();
  const [result, setResult] = useState<CashierTrade>();

  const load = () =>
    api<View>(`/v1/cashier/${encodeURIComponent(tradeId)}`, auth)
      .then((v) => {
        setView(v);
        if (v.methods.balance) setSource((s) => s || 'balance');
        else if (v.methods.cards[0]) setSource((s) => s || `card:${v.methods.cards[0]!.id}`);
        return v;
      })
      .catch((e: unknown) => setLoadError(describe(e)));

  useEffect(() => {
    if (!auth) setLoadError('This page needs a payment link from the merchant.');
    else void load();
  }, []);

  // A card payment may answer "paying": ask again until the bank has answered.
  useEffect(() => {
    if (result?.status !== 'paying') return;
    const timer = setInterval(() => void load().then((v) => v && v.trade.status !== 'paying' && setResult(v.trade)), 1500);
    return () => clearInterval(timer);
  }, [result?.status]);

  const allTools = useMemo(() => (view ? [...view.methods.coupons.map((t) => ({ ...t, kind: 'coupon' as const })), ...view.methods.red_packets.map((t) => ({ ...t, kind: 'red_packet' as const }))] : []), [view]);
  const discount = allTools.filter((t) => tools.has(t.id)).reduce((sum, t) => sum + t.amount, 0);
  const due = view ? Math.max(view.trade.amount - discount, 0) : 0;

  if (loadError) return <main><h1>Pay</h1><p role="alert" className="error">{loadError}</p></main>;
  if (!view) return <main><p aria-busy="true">Loading…</p></main>;
  const trade = view.trade;
  const outcome = result ?? (trade.status !== 'wait_pay' ? trade : undefined);
  const someLeftOut = Object.values(view.sources).some((s) => s !== 'ok');

  async function pay(event: FormEvent) {
    event.preventDefault();
    setPayError(undefined);
    const methods: Array<Record<string, string>> = allTools.filter((t) => tools.has(t.id)).map((t): Record<string, string> => (t.kind === 'coupon' ? { tool: 'coupon', coupon_id: t.id } : { tool: 'red_packet', red_packet_id: t.id }));
    if (due > 0) {
      if (source === 'balance') methods.push({ tool: 'balance' });
      else if (source.startsWith('card:')) methods.push({ tool: 'card', card_id: source.slice(5) });
      else return setPayError('Choose how to pay the rest.');
    }
    setBusy(true);
    try {
      const answer = await api<{ trade: CashierTrade }>(`/v1/cashier/${encodeURIComponent(tradeId)}/pay`, auth, { method: 'POST', body: { methods, ...(password ? { payment_password: password } : {}) } });
      setResult({ ...answer.trade, merchant: trade.merchant });
    } catch (e) {
      setPayError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main>
      <section className="card" aria-labelledby="trade-title">
        <p className="muted">{trade.merchant ?? 'Merchant'}</p>
        <h1 id="trade-title">{trade.subject}</h1>
        <p className="amount" data-testid="amount">{money(trade.amount, trade.currency)}</p>
      </section>
      {outcome ? (
        <Outcome trade={outcome} returnUrl={view.return_url} />
      ) : (
        <form onSubmit={pay} noValidate>
          {allTools.length > 0 && (
            <fieldset>
              <legend>Coupons and red packets</legend>
              {allTools.map((t) => (
                <div className="option" key={t.id}>
                  <input
                    type="checkbox"
                    id={`tool-${t.id}`}
                    checked={tools.has(t.id)}
                    onChange={(e) => setTools((old) => { const next = new Set(old); if (e.target.checked) next.add(t.id); else next.delete(t.id); return next; })}
                  />
                  <label htmlFor={`tool-${t.id}`}>
                    {t.kind === 'coupon' ? 'Coupon' : 'Red packet'} {money(t.amount, trade.currency)}
                    {t.expires_at && <span className="muted"> · until {t.expires_at.slice(0, 10)}</span>}
                  </label>
                </div>
              ))}
            </fieldset>
          )}
          <fieldset>
            <legend>Pay with</legend>
            {view.methods.balance && (
              <div className="option">
                <input type="radio" name="source" id="source-balance" value="balance" checked={source === 'balance'} onChange={() => setSource('balance')} />
                <label htmlFor="source-balance">Balance <span className="muted">({money(view.methods.balance.available, trade.currency)} available)</span></label>
              </div>
            )}
            {view.methods.cards.map((c) => (
              <div className="option" key={c.id}>
                <input type="radio" name="source" id={`source-${c.id}`} value={c.id} checked={source === `card:${c.id}`} onChange={() => setSource(`card:${c.id}`)} />
                <label htmlFor={`source-${c.id}`}>{c.bank} card ···· {c.last4}</label>
              </div>
            ))}
            {!view.methods.balance && view.methods.cards.length === 0 && <p className="muted">No balance or card is available.</p>}
            {someLeftOut && <p className="muted" role="status">Some payment methods could not be loaded just now and are not shown.</p>}
          </fieldset>
          <div className="due"><span>To pay</span><span data-testid="due">{money(due, trade.currency)}</span></div>
          <label className="field" htmlFor="password">Payment password</label>
          <input id="password" type="password" inputMode="numeric" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby={payError ? 'pay-error' : undefined} />
          <p>{payError && <span id="pay-error" role="alert" className="error">{payError}</span>}</p>
          <button type="submit" className="primary pay" disabled={busy}>{busy ? 'Paying…' : `Pay ${money(due, trade.currency)}`}</button>
        </form>
      )}
      {!outcome && (
        <section className="card" aria-label="Add a card" style={{ marginTop: '1rem' }}>
          <AddCard onBound={(cardId) => { setSource(`card:${cardId}`); void load(); }} />
        </section>
      )}
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><Cashier /></StrictMode>);

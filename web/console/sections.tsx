/** The console's sections: dashboard, trades, members, channels, notifications, reconciliation, ledger, clients. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { money } from '../shared/api.js';
import { can, DataTable, ErrorText, LineChart, useAdmin, useLoad, useSession } from './ui.js';

type Row = Record<string, unknown>;
type List = { data: Row[]; has_more?: boolean };

interface DashChannel { id: string; code: string; name: string; enabled: boolean; circuit: string; success_rate: number | null; latency_p50_ms: number | null; latency_p99_ms: number | null; payments_ok: number[]; payments_failed: number[] }
const historyLength = 60;

/** Payments in the last five complete seconds, per second. */
function recentRate(c: DashChannel): number {
  const done = c.payments_ok.slice(-6, -1);
  return Math.round((done.reduce((a, b) => a + b, 0) / Math.max(done.length, 1)) * 10) / 10;
}

export function Dashboard() {
  const admin = useAdmin();
  const [channels, setChannels] = useState<DashChannel[]>([]);
  const [error, setError] = useState<string>();
  const history = useRef(new Map<string, { p50: Array<number | null>; p99: Array<number | null>; rate: Array<number | null> }>());
  useEffect(() => {
    let live = true;
    const poll = () =>
      admin<{ channels: DashChannel[] }>('/admin/dashboard')
        .then((d) => {
          if (!live) return;
          for (const c of d.channels) {
            const h = history.current.get(c.code) ?? { p50: [], p99: [], rate: [] };
            h.p50 = [...h.p50, c.latency_p50_ms].slice(-historyLength);
            h.p99 = [...h.p99, c.latency_p99_ms].slice(-historyLength);
            h.rate = [...h.rate, c.success_rate === null ? null : Math.round(c.success_rate * 1000) / 10].slice(-historyLength);
            history.current.set(c.code, h);
          }
          setChannels(d.channels);
          setError(undefined);
        })
        .catch((e: unknown) => live && setError(String(e)));
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [admin]);
  const h = (code: string) => history.current.get(code) ?? { p50: [], p99: [], rate: [] };
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <ErrorText error={error} />
      <table data-testid="dashboard-channels">
        <caption className="sr-only">Channels now</caption>
        <thead><tr><th scope="col">channel</th><th scope="col">switch</th><th scope="col">circuit</th><th scope="col">payments/s (5 s)</th><th scope="col">success rate</th><th scope="col">p50 / p99 ms</th></tr></thead>
        <tbody>
          {channels.map((c) => (
            <tr key={c.id}>
              <th scope="row">{c.code}</th>
              <td><span className={`badge ${c.enabled ? 'on' : 'off'}`}>{c.enabled ? 'on' : 'off'}</span></td>
              <td><span className={`badge ${c.circuit}`}>{c.circuit}</span></td>
              <td data-testid={`rate-${c.code}`}>{recentRate(c)}</td>
              <td>{c.success_rate === null ? '—' : `${Math.round(c.success_rate * 1000) / 10}%`}</td>
              <td>{c.latency_p50_ms ?? '—'} / {c.latency_p99_ms ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts" style={{ marginTop: '1rem' }}>
        <LineChart title="Payments per second (last 60 s)" unit="/s" series={channels.map((c) => ({ name: c.code, values: c.payments_ok.slice(0, -1) }))} />
        <LineChart title="Success rate" unit="%" max={100} series={channels.map((c) => ({ name: c.code, values: h(c.code).rate }))} />
        <LineChart title="Latency p50" unit="ms" series={channels.map((c) => ({ name: c.code, values: h(c.code).p50 }))} />
        <LineChart title="Latency p99" unit="ms" series={channels.map((c) => ({ name: c.code, values: h(c.code).p99 }))} />
      </div>
    </section>
  );
}

export function Channels() {
  const admin = useAdmin();
  const { session } = useSession();
  const [tick, setTick] = useState(0);
  const [error, setError] = useState<string>();
  const { data, error: loadError } = useLoad<List>('/admin/channels', tick);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 2000);
    return () => clearInterval(timer);
  }, []);
  const flip = async (row: Row) => {
    try {
      await admin(`/admin/channels/${String(row.id)}/switch`, { method: 'POST', body: { state: row.enabled ? 'off' : 'on' } });
      setTick((t) => t + 1);
    } catch (e) {
      setError(String(e));
    }
  };
  return (
    <section aria-labelledby="ch-title">
      <h1 id="ch-title">Channels</h1>
      <ErrorText error={error ?? loadError} />
      <DataTable
        caption="Channels"
        testId="channels"
        rows={data?.data ?? []}
        columns={['code', 'name', 'enabled', 'circuit', 'success_rate', 'calls_in_window', 'latency_p50_ms', 'latency_p99_ms', 'switched_by', 'switched_at']}
        actions={(row) =>
          can(session.operator.role, 'operator') ? (
            <button type="button" onClick={() => void flip(row)} aria-label={`Switch ${String(row.code)} ${row.enabled ? 'off' : 'on'}`}>
              {row.enabled ? 'Switch off' : 'Switch on'}
            </button>
          ) : null
        }
      />
    </section>
  );
}

export function Trades() {
  const clients = useLoad<List>('/admin/clients');
  const [query, setQuery] = useState<string>();
  const found = useLoad<List>(query);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const params = new URLSearchParams();
    for (const key of ['client_id', 'trade_id', 'out_trade_no', 'refund_id']) {
      const value = String(form.get(key) ?? '').trim();
      if (value) params.set(key, value);
    }
    setQuery(`/admin/trades?${params}`);
  };
  const row = found.data?.data[0];
  return (
    <section aria-labelledby="tr-title">
      <h1 id="tr-title">Trades and refunds</h1>
      <form className="row" onSubmit={submit}>
        <label>API client
          <select name="client_id" required>{(clients.data?.data ?? []).map((c) => <option key={String(c.id)} value={String(c.id)}>{String(c.name)}</option>)}</select>
        </label>
        <label>Trade id<input name="trade_id" /></label>
        <label>Out trade no<input name="out_trade_no" /></label>
        <label>Refund id<input name="refund_id" /></label>
        <button type="submit" className="primary">Search</button>
      </form>
      <ErrorText error={found.error} />
      {query && found.data && !row && <p>No such trade or refund for this client.</p>}
      {row && (
        <div className="card">
          <h2>{String(row.kind)} {String(row.id)}</h2>
          <dl className="kv">
            {Object.entries(row).filter(([k]) => k !== 'payments').map(([k, v]) => (
              <div key={k} style={{ display: 'contents' }}>
                <dt>{k.replaceAll('_', ' ')}</dt>
                <dd>{/amount$/.test(k) && typeof v === 'number' ? money(v) : typeof v === 'object' && v !== null ? <code>{JSON.stringify(v)}</code> : String(v ?? '—')}</dd>
              </div>
            ))}
          </dl>
          <p className="muted">Linked objects: {row.trade_id ? <>original trade <code>{String(row.trade_id)}</code>; </> : null}buyer and seller are members (see Members).</p>
          <h3>Payment orders and TCC activities</h3>
          {((row.payments as Row[] | undefined) ?? []).length === 0 && <p className="muted">No payment order yet.</p>}
          <ul data-testid="order-tree">
            {((row.payments as Array<Row & { activity: (Row & { log: Row[] }) | null }> | undefined) ?? []).map((p) => (
              <li key={String(p.id)}>
                <p>
                  {String(p.kind)} payment <code>{String(p.id)}</code> · <span className={`badge ${String(p.status)}`}>{String(p.status)}</span> · {money(p.amount as number)} · {String(p.tcc)}
                  {p.channel_order_id ? <> · channel order <code>{String(p.channel_order_id)}</code></> : null}
                </p>
                <p className="muted">methods <code>{JSON.stringify(p.methods)}</code></p>
                {!p.activity && p.tcc === 'one_phase' && <p className="muted">One phase: one local transaction, no TCC activity.</p>}
                {p.activity && (
                  <>
                    <p>Activity {String(p.activity.status)}, attempts {String(p.activity.attempts)}{p.activity.cancel_reason ? `, cancelled: ${String(p.activity.cancel_reason)}` : ''}</p>
                    <DataTable caption="Activity log" rows={p.activity.log} columns={['phase', 'detail', 'at']} />
                  </>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

export function Members() {
  const [id, setId] = useState<string>();
  const member = useLoad<Row & { accounts: Array<Row & { entries: Row[] }> }>(id ? `/admin/members/${encodeURIComponent(id)}` : undefined);
  return (
    <section aria-labelledby="mb-title">
      <h1 id="mb-title">Members</h1>
      <form className="row" onSubmit={(e) => { e.preventDefault(); setId(String(new FormData(e.currentTarget).get('member_id') ?? '').trim()); }}>
        <label>Member id<input name="member_id" required /></label>
        <button type="submit" className="primary">Show</button>
      </form>
      <ErrorText error={member.error} />
      {member.data && (
        <div className="card">
          <h2>{String(member.data.name)} <span className="muted">({String(member.data.type)})</span></h2>
          <p className="muted">client <code>{String(member.data.client_id)}</code></p>
          {member.data.accounts.map((a) => (
            <div key={String(a.id)}>
              <h3>Account <code>{String(a.id)}</code></h3>
              <p>Available {money(a.available as number)} · posted {money(a.posted as number)} · frozen {money(a.frozen as number)}</p>
              <DataTable caption="Statement" rows={a.entries} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

export function Notifications() {
  const admin = useAdmin();
  const { session } = useSession();
  const [status, setStatus] = useState('failed');
  const [tick, setTick] = useState(0);
  const [message, setMessage] = useState<string>();
  const list = useLoad<List>(`/admin/notifications?limit=50${status ? `&status=${status}` : ''}`, tick);
  const dead = useLoad<List>('/admin/events/dead-letters', tick);
  const resend = async (row: Row) => {
    try {
      await admin(`/admin/notifications/${String(row.id)}/resend`, { method: 'POST' });
      setMessage(`Notification ${String(row.id)} queued again.`);
      setTick((t) => t + 1);
    } catch (e) {
      setMessage(String(e));
    }
  };
  return (
    <section aria-labelledby="nt-title">
      <h1 id="nt-title">Notifications</h1>
      <div className="row">
        <label>Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">all</option><option value="pending">pending (queue)</option><option value="failed">failed</option><option value="delivered">delivered</option>
          </select>
        </label>
        <button type="button" onClick={() => setTick((t) => t + 1)}>Refresh</button>
      </div>
      <p role="status">{message}</p>
      <ErrorText error={list.error} />
      <DataTable
        caption="Notifications"
        testId="notifications"
        rows={list.data?.data ?? []}
        columns={['id', 'event_type', 'url', 'status', 'attempts', 'last_http_status', 'last_error', 'next_attempt_at', 'delivered_at']}
        actions={(row) => (can(session.operator.role, 'operator') && row.status !== 'delivered' ? <button type="button" onClick={() => void resend(row)} aria-label={`Resend ${String(row.id)}`}>Resend</button> : null)}
      />
      <h2>Dead-lettered events</h2>
      <ErrorText error={dead.error} />
      <DataTable caption="Dead letters" rows={dead.data?.data ?? []} />
    </section>
  );
}

export function Reconciliation() {
  const admin = useAdmin();
  const { session } = useSession();
  const [tick, setTick] = useState(0);
  const [message, setMessage] = useState<string>();
  const runs = useLoad<List>('/admin/funds/recon-runs', tick);
  const open = useLoad<List>('/admin/funds/discrepancies?status=open', tick);
  const start = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    try {
      await admin('/admin/funds/recon-runs', { method: 'POST', body: { bank: String(form.get('bank')), date: String(form.get('date')) } });
      setMessage('Reconciliation run finished.');
      setTick((t) => t + 1);
    } catch (error) {
      setMessage(String(error));
    }
  };
  const accept = async (row: Row) => {
    try {
      await admin(`/admin/funds/discrepancies/${String(row.id)}/accept`, { method: 'POST' });
      setMessage(`Correction for ${String(row.id)} accepted.`);
      setTick((t) => t + 1);
    } catch (error) {
      setMessage(String(error));
    }
  };
  const operator = can(session.operator.role, 'operator');
  return (
    <section aria-labelledby="rc-title">
      <h1 id="rc-title">Reconciliation</h1>
      {operator && (
        <form className="row" onSubmit={start}>
          <label>Bank<select name="bank"><option>alpha</option><option>beta</option></select></label>
          <label>Day<input name="date" type="date" required defaultValue={new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)} /></label>
          <button type="submit" className="primary">Run reconciliation</button>
        </form>
      )}
      <p role="status">{message}</p>
      <h2>Runs</h2>
      <ErrorText error={runs.error} />
      <DataTable caption="Reconciliation runs" rows={runs.data?.data ?? []} />
      <h2>Open discrepancies</h2>
      <ErrorText error={open.error} />
      <DataTable caption="Open discrepancies" rows={open.data?.data ?? []} actions={(row) => (operator ? <button type="button" onClick={() => void accept(row)}>Accept correction</button> : null)} />
    </section>
  );
}

export function Ledger() {
  const [day, setDay] = useState(new Date().toISOString().slice(0, 10));
  const [tick, setTick] = useState(0);
  const check = useLoad<Row>('/admin/ledger/check', tick);
  const trial = useLoad<Row>(`/admin/funds/trial-balance?date=${day}`, tick);
  return (
    <section aria-labelledby="lg-title">
      <h1 id="lg-title">Ledger check and trial balance</h1>
      <button type="button" onClick={() => setTick((t) => t + 1)}>Check again</button>
      <ErrorText error={check.error} />
      {check.data && (
        <div className="card" data-testid="ledger-check">
          <p className={check.data.balanced ? 'ok' : 'error'}>{check.data.balanced ? 'Balanced' : 'NOT balanced'}</p>
          <pre className="mono">{JSON.stringify(check.data, null, 2)}</pre>
        </div>
      )}
      <div className="row"><label>Trial balance day<input type="date" value={day} onChange={(e) => setDay(e.target.value)} /></label></div>
      <ErrorText error={trial.error} />
      {trial.data && <pre className="card mono">{JSON.stringify(trial.data, null, 2)}</pre>}
    </section>
  );
}

export function Clients() {
  const admin = useAdmin();
  const { session } = useSession();
  const [tick, setTick] = useState(0);
  const [created, setCreated] = useState<Row>();
  const [error, setError] = useState<string>();
  const list = useLoad<List>('/admin/clients', tick);
  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const notifyUrl = String(form.get('notify_url') ?? '').trim();
    try {
      setCreated(await admin<Row>('/admin/clients', { method: 'POST', body: { name: String(form.get('name')), ...(notifyUrl ? { notify_url: notifyUrl } : {}) } }));
      setTick((t) => t + 1);
    } catch (err) {
      setError(String(err));
    }
  };
  return (
    <section aria-labelledby="cl-title">
      <h1 id="cl-title">API clients and keys</h1>
      {can(session.operator.role, 'admin') && (
        <form className="row" onSubmit={create}>
          <label>Name<input name="name" required /></label>
          <label>Notify URL<input name="notify_url" type="url" /></label>
          <button type="submit" className="primary">Create client</button>
        </form>
      )}
      <ErrorText error={error ?? list.error} />
      {created && (
        <div className="card" role="status">
          <p><strong>Shown once — copy them now.</strong></p>
          <p>API key <code>{String(created.api_key)}</code></p>
          <p>Notify secret <code>{String(created.notify_secret)}</code></p>
        </div>
      )}
      <DataTable caption="API clients" rows={list.data?.data ?? []} />
    </section>
  );
}

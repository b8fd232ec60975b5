/** The operations console: login, then sections by the URL fragment (#/dashboard, #/channels, …). */
import { StrictMode, useCallback, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ApiError } from '../shared/api.js';
import '../shared/base.css';
import './console.css';
import { Channels, Clients, Dashboard, Ledger, Members, Notifications, Reconciliation, Trades } from './sections.js';
import { SessionContext, type Session } from './ui.js';

const sections = {
  dashboard: ['Dashboard', Dashboard],
  trades: ['Trades and refunds', Trades],
  members: ['Members', Members],
  channels: ['Channels', Channels],
  notifications: ['Notifications', Notifications],
  reconciliation: ['Reconciliation', Reconciliation],
  ledger: ['Ledger', Ledger],
  clients: ['API clients', Clients],
} as const;
type SectionName = keyof typeof sections;

const storageKey = 'paycore-console-session';

function currentSection(): SectionName {
  const name = location.hash.replace(/^#\/?/, '');
  return name in sections ? (name as SectionName) : 'dashboard';
}

function Login({ onLogin }: { onLogin(session: Session): void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    try {
      onLogin(await api<Session>('/admin/login', undefined, { method: 'POST', body: { name: String(form.get('name')), password: String(form.get('password')) } }));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'Wrong name or password.' : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login card">
      <h1>Paycore console</h1>
      <form onSubmit={submit}>
        <label htmlFor="name">Operator name</label>
        <input id="name" name="name" autoComplete="username" required />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        <p>{error && <span role="alert" className="error">{error}</span>}</p>
        <button type="submit" className="primary" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}

function Console() {
  const [session, setSession] = useState<Session | undefined>(() => {
    const saved = sessionStorage.getItem(storageKey);
    return saved ? (JSON.parse(saved) as Session) : undefined;
  });
  const [section, setSection] = useState(currentSection);
  useEffect(() => {
    const onHash = () => setSection(currentSection());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const logout = useCallback(() => {
    sessionStorage.removeItem(storageKey);
    setSession(undefined);
  }, []);
  if (!session) return <Login onLogin={(s) => { sessionStorage.setItem(storageKey, JSON.stringify(s)); setSession(s); }} />;
  const [, Section] = sections[section];
  return (
    <SessionContext.Provider value={{ session, logout }}>
      <div className="layout">
        <nav aria-label="Sections">
          <p className="who">{session.operator.name} · {session.operator.role}</p>
          {(Object.keys(sections) as SectionName[]).map((name) => (
            <a key={name} href={`#/${name}`} aria-current={name === section ? 'page' : undefined}>{sections[name][0]}</a>
          ))}
          <button type="button" onClick={logout} style={{ margin: '1rem .75rem' }}>Log out</button>
        </nav>
        <main className="content"><Section /></main>
      </div>
    </SessionContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><Console /></StrictMode>);

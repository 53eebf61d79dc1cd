// The admin view of a tenant: who is online (presence of the `devices`
// channel, which every dashboard subscribes), their sessions and the nodes
// serving them, the cluster's nodes, and forced sign-out. Presence comes
// over the WebSocket; nodes and sign-out are the bridge's admin HTTP API
// (/api/v1/nodes, /api/v1/signout), which needs a token whose `api` claim
// names the operation: the page's own token when it has one (the dev
// token does), else an admin API token pasted into the view.

import { el, announce } from './dom.js';

const REFRESH_MS = 5000;
const TOKEN_KEY = 'mqlive.adminToken';

export class AdminView {
  constructor({ client, token }) {
    const $ = (id) => document.getElementById(id);
    this.els = {
      users: $('admin-users'), nodes: $('admin-nodes'), status: $('admin-status'), live: $('admin-live'),
      refresh: $('admin-refresh'), tokenForm: $('admin-token-form'), token: $('admin-token'), count: $('admin-count'),
    };
    this.client = client;
    this.pageToken = token;
    this.timer = null;
    this.pending = null; // the user whose sign-out awaits confirmation
    this.note = ''; // the outcome of the last sign-out, kept across refreshes
    this.els.refresh.addEventListener('click', () => this.refresh());
    this.els.tokenForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = this.els.token.value.trim();
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
      else sessionStorage.removeItem(TOKEN_KEY);
      this.refresh();
    });
  }

  apiToken() {
    return sessionStorage.getItem(TOKEN_KEY) || this.pageToken;
  }

  show() {
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  hide() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async api(method, path, body) {
    const resp = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.apiToken()}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${resp.status}: ${text.trim() || resp.statusText}`);
    return text ? JSON.parse(text) : {};
  }

  async refresh() {
    const [presence, nodes] = await Promise.allSettled([this.client.presence('devices'), this.api('GET', 'api/v1/nodes')]);
    if (presence.status === 'fulfilled') {
      this.renderUsers(presence.value.clients);
      this.els.status.dataset.state = this.note.startsWith('Sign-out of') ? 'error' : 'ok';
      this.els.status.textContent = `${this.note}${this.note ? ' ' : ''}Updated ${new Date().toLocaleTimeString()}.`;
    } else {
      this.els.status.dataset.state = 'error';
      this.els.status.textContent = `Presence unavailable: ${presence.reason?.message || presence.reason}`;
    }
    if (nodes.status === 'fulfilled') this.renderNodes(nodes.value.nodes || []);
    else this.els.nodes.replaceChildren(el('li', { class: 'muted', text: `Nodes unavailable (${nodes.reason.message}). An admin API token with "nodes" shows them.` }));
  }

  renderUsers(clients) {
    const users = new Map();
    for (const c of clients) {
      if (!users.has(c.user)) users.set(c.user, []);
      users.get(c.user).push(c);
    }
    const me = this.client.session?.user;
    this.els.count.textContent = `(${users.size} ${users.size === 1 ? 'user' : 'users'}, ${clients.length} ${clients.length === 1 ? 'session' : 'sessions'})`;
    const rows = [];
    for (const [user, sessions] of [...users].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      sessions.sort((a, b) => (a.connected_at < b.connected_at ? -1 : 1));
      const list = el('ul', { class: 'sessions' }, ...sessions.map((s) => el('li', {},
        el('code', { text: s.session }), ` on node `, el('code', { text: s.node }),
        `, since ${new Date(s.connected_at).toLocaleTimeString()}${this.client.session?.session === s.session ? ' (this page)' : ''}`)));
      const btn = el('button', { class: 'btn danger', type: 'button', text: this.pending === user ? `Confirm sign-out of ${user}` : 'Sign out' });
      btn.dataset.user = user;
      btn.dataset.confirm = String(this.pending === user);
      btn.setAttribute('aria-label', this.pending === user ? `Confirm: sign out ${user} everywhere` : `Sign out ${user} everywhere`);
      btn.addEventListener('click', () => this.signOut(user));
      const row = el('tr', {}, el('th', { scope: 'row' }, user, user === me ? el('span', { class: 'you', text: ' (you)' }) : ''),
        el('td', {}, list), el('td', { class: 'num', text: String(sessions.length) }), el('td', {}, btn));
      row.dataset.user = user;
      rows.push(row);
    }
    const focused = document.activeElement?.dataset?.user;
    this.els.users.replaceChildren(...rows);
    if (focused) this.els.users.querySelector(`button[data-user="${CSS.escape(focused)}"]`)?.focus();
  }

  renderNodes(nodes) {
    if (!nodes.length) {
      this.els.nodes.replaceChildren(el('li', { class: 'muted', text: 'Single node (no cluster registry).' }));
      return;
    }
    this.els.nodes.replaceChildren(...nodes.map((n) => el('li', {}, el('code', { text: n.node }),
      ` · ${n.connections} connection${n.connections === 1 ? '' : 's'}${n.http_addr ? ` · ${n.http_addr}` : ''} · up since ${new Date(n.started_at).toLocaleString()}`)));
  }

  /** First click asks for confirmation, the second signs the user out on every node. */
  async signOut(user) {
    if (this.pending !== user) {
      this.pending = user;
      this.refresh();
      announce(this.els.live, `Press again to sign ${user} out everywhere.`);
      return;
    }
    this.pending = null;
    try {
      const res = await this.api('POST', 'api/v1/signout', { user, reason: 'signed out from the admin view' });
      this.note = `Signed out ${user}: ${res.sessions} session${res.sessions === 1 ? '' : 's'} closed on this node, the others told.`;
    } catch (err) {
      this.note = `Sign-out of ${user} failed: ${err.message}.`;
    }
    announce(this.els.live, this.note);
    await this.refresh();
  }
}

// Device commands in the detail panel, as the bridge lists them: the page
// asks `commands` {device} which commands the device's family accepts and
// sends exactly those (name and args as listed, or args the user fills in
// from the listed JSON Schema). It knows no family's topics or payloads.
// The bridge decides who may command what: a token without `cmd` for the
// device sees the list read-only.

import { el, clockTime } from './dom.js';
import { label as metricLabel } from './format.js';

/** Client-side SDK codes (1…7) mean the request never got an answer. */
function outcomeOf(err) {
  const code = err?.code;
  if (typeof code === 'number' && code >= 1 && code <= 7) return 'failed';
  if (code === -32603) return 'failed';
  return 'refused';
}

function outputLabel(output) {
  return output === 'state' ? 'Power' : metricLabel(output.replace(/\.state$/, ''));
}

let formSeq = 0;

export class CommandPanel {
  constructor({ client }) {
    const $ = (id) => document.getElementById(id);
    this.els = { box: $('detail-commands'), groups: $('detail-cmd-groups'), status: $('detail-cmd-status'), note: $('detail-cmd-note') };
    this.client = client;
    this.deviceId = null;
    this.listed = null;
    /** device id -> { seq, state, text } of its latest command */
    this.status = new Map();
    this.seq = 0;
    this.loadSeq = 0;
  }

  /** Asks the bridge for the device's commands and renders them. */
  async load(id) {
    const seq = ++this.loadSeq;
    this.deviceId = id;
    this.listed = null;
    this.els.box.hidden = true;
    this.els.box.dataset.loaded = 'false';
    this.els.groups.replaceChildren();
    let res;
    try {
      res = await this.client.commands(id);
    } catch (err) {
      if (seq !== this.loadSeq) return;
      this.els.box.hidden = false;
      this.els.note.textContent = `Cannot list this device's commands: ${err?.message || err}`;
      this.els.box.dataset.loaded = 'error';
      return;
    }
    if (seq !== this.loadSeq) return; // another device was opened meanwhile
    this.listed = res;
    this.els.box.hidden = res.commands.length === 0;
    this.els.box.dataset.loaded = 'true';
    this.els.box.dataset.allowed = String(res.allowed);
    this.els.note.textContent = res.allowed ? '' : 'Read-only: this token may not command this device (it needs cmd).';
    const outputs = new Map();
    const others = [];
    for (const c of res.commands) {
      if (c.output) {
        if (!outputs.has(c.output)) outputs.set(c.output, []);
        outputs.get(c.output).push(c);
      } else {
        others.push(c);
      }
    }
    const nodes = [];
    for (const [output, list] of outputs) nodes.push(this.outputGroup(id, output, list, res.allowed));
    for (const c of others) nodes.push(c.schema ? this.form(id, c, res.allowed) : this.plain(id, c, res.allowed));
    this.els.groups.replaceChildren(...nodes);
    this.update(this.client.device(id));
    this.renderStatus();
  }

  button(id, c, allowed, args) {
    const b = el('button', { class: 'btn', type: 'button', text: c.label });
    b.dataset.cmd = c.name;
    b.dataset.verb = c.label.toLowerCase();
    if (c.output) b.dataset.output = c.output;
    b.disabled = !allowed;
    b.addEventListener('click', () => this.send(id, c, args ?? c.args));
    return b;
  }

  outputGroup(id, output, list, allowed) {
    const labelId = `cmd-l-${++formSeq}`;
    const box = el('div', { class: 'cmd-group', role: 'group', 'aria-labelledby': labelId },
      el('span', { class: 'cmd-label', id: labelId }, `${outputLabel(output)}: `, el('span', { class: 'cmd-current' })));
    box.dataset.output = output;
    for (const c of list) box.append(this.button(id, c, allowed));
    return box;
  }

  plain(id, c, allowed) {
    return el('div', { class: 'cmd-group' }, this.button(id, c, allowed));
  }

  /** A form for a command whose args the user supplies, built from its JSON Schema. */
  form(id, c, allowed) {
    const n = ++formSeq;
    const form = el('form', { class: 'cmd-form', 'aria-label': c.label });
    form.dataset.cmd = c.name;
    const s = c.schema || {};
    const fields = [];
    if (s.type === 'object' && s.properties) {
      const required = new Set(s.required || []);
      for (const [key, p] of Object.entries(s.properties)) {
        const fid = `cmd-f-${n}-${key}`;
        let input;
        if (Array.isArray(p.enum)) {
          input = el('select', { id: fid }, el('option', { value: '', text: '(default)' }), ...p.enum.map((v) => el('option', { value: v, text: v })));
        } else if (p.type === 'boolean') {
          input = el('input', { id: fid, type: 'checkbox' });
        } else if (p.type === 'integer' || p.type === 'number') {
          input = el('input', { id: fid, type: 'number', inputmode: 'numeric', step: p.type === 'integer' ? '1' : 'any', min: p.minimum, max: p.maximum });
        } else {
          input = el('input', { id: fid, type: 'text', autocomplete: 'off', spellcheck: 'false' });
        }
        if (required.has(key)) input.required = true;
        input.name = key;
        fields.push({ key, p, input });
        form.append(el('label', { class: 'cmd-field', for: fid }, el('span', { text: p.title || key }), input));
      }
    } else if (s.type === 'integer' || s.type === 'number') {
      const input = el('input', { id: `cmd-f-${n}`, type: 'number', required: '', step: s.type === 'integer' ? '1' : 'any', min: s.minimum, max: s.maximum });
      fields.push({ key: null, p: s, input });
      form.append(el('label', { class: 'cmd-field', for: input.id }, el('span', { text: s.title || 'Value' }), input));
    } else {
      const input = el('textarea', { id: `cmd-f-${n}`, rows: '2', required: '', spellcheck: 'false', placeholder: '{"…": …}' });
      fields.push({ key: null, p: { type: 'json' }, input });
      form.append(el('label', { class: 'cmd-field', for: input.id }, el('span', { text: 'Arguments (JSON)' }), input));
      if (s.description) form.append(el('details', { class: 'cmd-hint' }, el('summary', { text: 'What can be set' }), el('p', { text: s.description })));
    }
    const submit = el('button', { class: 'btn', type: 'submit', text: c.label });
    submit.dataset.cmd = c.name;
    submit.disabled = !allowed;
    form.append(submit);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      let args;
      try {
        args = this.argsOf(fields);
      } catch (err) {
        this.setStatus(id, ++this.seq, 'refused', `Not sent: ${err.message}`);
        return;
      }
      this.send(id, c, args);
    });
    return form;
  }

  argsOf(fields) {
    if (fields.length === 1 && fields[0].key === null) {
      const { p, input } = fields[0];
      if (p.type === 'json') return JSON.parse(input.value);
      return Number(input.value);
    }
    const args = {};
    for (const { key, p, input } of fields) {
      if (p.type === 'boolean') {
        if (input.checked) args[key] = true;
      } else if (input.value === '') {
        continue;
      } else if (p.type === 'integer' || p.type === 'number') {
        args[key] = Number(input.value);
      } else if (Array.isArray(p.type) && input.value !== '') {
        // A value of several types: JSON when it parses (true, 21.5), else text.
        try {
          args[key] = JSON.parse(input.value);
        } catch {
          args[key] = input.value;
        }
      } else {
        args[key] = input.value;
      }
    }
    return args;
  }

  /** Shows each output's current state from the device table. */
  update(dev) {
    if (!dev || dev.id !== this.deviceId) return;
    for (const g of this.els.groups.querySelectorAll('.cmd-group[data-output]')) {
      const v = dev.metrics[g.dataset.output];
      const cur = g.querySelector('.cmd-current');
      const text = typeof v === 'boolean' ? (v ? 'on' : 'off') : 'unknown';
      if (cur.textContent !== text) cur.textContent = text;
      cur.dataset.on = String(v);
    }
  }

  async send(id, c, args) {
    const seq = ++this.seq;
    const what = c.output && c.output !== 'state' ? `“${c.label}” (${outputLabel(c.output)})` : `“${c.label}”`;
    this.setStatus(id, seq, 'pending', `Sending ${what}…`);
    try {
      await this.client.command(id, c.name, args);
      this.setStatus(id, seq, 'sent', `Sent ${what} at ${clockTime(Date.now())}. The device confirms by reporting its new state.`);
    } catch (err) {
      const outcome = outcomeOf(err);
      const why = err?.reason || err?.message || String(err);
      const code = typeof err?.code === 'number' ? ` (code ${err.code})` : '';
      this.setStatus(id, seq, outcome, `${outcome === 'refused' ? 'Refused' : 'Not sent'}: ${why}${code}`);
    }
  }

  setStatus(id, seq, state, text) {
    const prev = this.status.get(id);
    if (prev && prev.seq > seq) return; // an older command answered late
    this.status.set(id, { seq, state, text });
    if (id === this.deviceId) this.renderStatus();
  }

  renderStatus() {
    const st = this.status.get(this.deviceId) || { state: 'idle', text: '' };
    const node = this.els.status;
    node.dataset.state = st.state;
    if (node.textContent !== st.text) node.textContent = st.text;
  }

  clear() {
    this.loadSeq++;
    this.deviceId = null;
    this.els.groups.replaceChildren();
    this.els.box.hidden = true;
  }
}

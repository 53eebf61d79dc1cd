// On / Off / Toggle in the device detail panel, for every output whose
// Reading has a boolean `state` (or `<instance>.state`). The page does not
// decide who may command what: it sends `command` and shows the bridge's
// answer (e.g. 4003 "permission denied" when the token lacks `cmd`, or
// -32602 when the family does not accept commands).

import { el, clockTime } from './dom.js';

const VERBS = [['on', 'On'], ['off', 'Off'], ['toggle', 'Toggle']];

/**
 * How to address one instance output, by family (READINGS.md names second
 * instances `<instance>.<metric>`), as [command name, args]; null when the
 * instance is not an output the page knows how to switch (e.g. a Shelly
 * input).
 */
function instanceEncoder(family, inst) {
  let m;
  if ((m = /^switch:(\d+)$/.exec(inst))) return (verb) => [verb, { channel: Number(m[1]) }]; // Shelly Gen2 Switch.Set id N
  if ((m = /^relay:(\d+)$/.exec(inst))) return (verb) => ['relay', { channel: Number(m[1]), turn: verb }]; // Shelly Gen1
  if (family === 'tasmota' && (m = /^power(\d+)$/.exec(inst))) return (verb) => [`Power${m[1]}`, verb.toUpperCase()];
  if (family === 'zigbee2mqtt') return (verb) => ['set', { [`state_${inst}`]: verb.toUpperCase() }]; // state_<endpoint>
  return null;
}

/** The switchable outputs of a device: [{ metric, label, on, encode(verb) → [name, args] }], primary first. */
export function switchesOf(dev) {
  const out = [];
  for (const [metric, v] of Object.entries(dev.metrics || {})) {
    if (typeof v !== 'boolean') continue;
    if (metric === 'state') {
      out.push({ metric, label: 'Power', on: v, encode: (verb) => [verb, undefined] });
    } else if (metric.endsWith('.state')) {
      const inst = metric.slice(0, -'.state'.length);
      const encode = instanceEncoder(dev.family, inst);
      if (encode) out.push({ metric, label: inst, on: v, encode });
    }
  }
  return out.sort((a, b) => (a.metric === 'state' ? -1 : b.metric === 'state' ? 1 : a.metric < b.metric ? -1 : 1));
}

/** Client-side SDK codes (1…7) mean the request never got an answer. */
function outcomeOf(err) {
  const code = err?.code;
  if (typeof code === 'number' && code >= 1 && code <= 7) return 'failed';
  if (code === -32603) return 'failed';
  return 'refused';
}

export class CommandPanel {
  constructor({ client }) {
    const $ = (id) => document.getElementById(id);
    this.els = { box: $('detail-commands'), groups: $('detail-cmd-groups'), status: $('detail-cmd-status') };
    this.client = client;
    this.key = '';
    this.deviceId = null;
    /** device id -> { state, text } of its latest command */
    this.status = new Map();
    this.seq = 0;
  }

  /** Called on every render of the detail panel: rebuilds the buttons only when the outputs change, so focus stays. */
  render(dev) {
    const list = dev ? switchesOf(dev) : [];
    this.deviceId = dev?.id ?? null;
    this.els.box.hidden = list.length === 0;
    const key = `${dev?.id}\u0000${list.map((s) => s.metric).join(',')}`;
    if (key !== this.key) {
      this.key = key;
      this.els.groups.replaceChildren(...list.map((s, i) => this.group(dev.id, s, i)));
    }
    for (const s of list) {
      const cur = this.els.groups.querySelector(`.cmd-group[data-metric="${CSS.escape(s.metric)}"] .cmd-current`);
      if (cur) {
        const text = s.on ? 'on' : 'off';
        if (cur.textContent !== text) cur.textContent = text;
        cur.dataset.on = String(s.on);
      }
    }
    this.renderStatus();
  }

  group(id, s, i) {
    const labelId = `cmd-l-${i}`;
    const box = el('div', { class: 'cmd-group', role: 'group', 'aria-labelledby': labelId },
      el('span', { class: 'cmd-label', id: labelId }, `${s.label}: `, el('span', { class: 'cmd-current' })));
    box.dataset.metric = s.metric;
    for (const [verb, text] of VERBS) {
      const b = el('button', { class: 'btn', type: 'button', text });
      b.dataset.cmd = verb;
      b.dataset.metric = s.metric;
      b.addEventListener('click', () => this.send(id, s, verb));
      box.append(b);
    }
    return box;
  }

  async send(id, s, verb) {
    const [name, args] = s.encode(verb);
    const seq = ++this.seq;
    const what = s.metric === 'state' ? `“${verb}”` : `“${verb}” (${s.label})`;
    this.setStatus(id, seq, 'pending', `Sending ${what}…`);
    try {
      await this.client.command(id, name, args);
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
}

// Small DOM helpers shared by the dashboard's modules.

/** Creates an element: attrs `class` and `text` are special, the rest are attributes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** HH:MM:SS.mmm in local time: monitor events arrive many per second. */
export function clockTime(ms) {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const hms = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** Replaces the text of an aria-live region so that it is announced even when unchanged. */
export function announce(node, text) {
  node.textContent = '';
  // A separate task: some screen readers skip a change made in the same task as a clear.
  setTimeout(() => { node.textContent = text; }, 50);
}

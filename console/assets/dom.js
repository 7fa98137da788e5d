// DOM helpers. Every value reaches the page through textContent or an
// attribute setter, never innerHTML: data from the APIs cannot become markup.

// h builds an element: h("a", {href: "#/x", class: "b", onclick: f}, "text", child).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

// s builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties el and appends children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Number and money formats.
const intFmt = new Intl.NumberFormat("en-US");
const moneyFmt = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const int = (n) => intFmt.format(Number(n) || 0);
export const money = (n) => moneyFmt.format(Number(n) || 0);
export const pct = (n) => (Number(n) || 0).toFixed(2) + "%";

export function badge(status) {
  return h("span", { class: "badge " + String(status || "") }, status || "—");
}

// table renders rows under columns [{key, label, num, nowrap, fmt(row),
// clip(row)}]; onRow makes rows clickable. A click on a link, button or
// field in a row is that control's, not the row's.
//
// A clip column holds a long text (a URL, a receiver's answer): its cell
// shows one line of it, cut with an ellipsis, the whole text in its title,
// so that a row keeps one line's height at any length. A click on it (or
// Enter) opens a row below, the table's width, with the whole text of
// each of the row's clip columns; another click closes it.
export function table(columns, rows, onRow, empty = "Nothing yet.") {
  if (!rows || rows.length === 0) return h("p", { class: "muted" }, empty);
  const own = (e) => e.target.closest("a, button, input, select, details");
  const clips = columns.filter((c) => c.clip);
  const body = h("tbody");
  for (const r of rows) {
    let more = null;
    const toggle = (e) => {
      if (!more) {
        more = h("tr", { class: "more" }, h("td", { colspan: String(columns.length) },
          h("dl", { class: "kv" }, clips.flatMap((c) => [h("dt", {}, c.label), h("dd", {}, h("pre", { "data-col": c.key }, String(c.clip(r) ?? "")))]))));
        tr.after(more);
      } else {
        more.hidden = !more.hidden;
      }
      for (const b of tr.querySelectorAll("button.clip")) b.setAttribute("aria-expanded", String(!more.hidden));
      e.stopPropagation();
    };
    const cell = (c) => {
      if (!c.clip) return c.fmt ? c.fmt(r) : (r[c.key] ?? "");
      const text = String(c.clip(r) ?? "");
      return text === "" ? "" : h("button", { type: "button", class: "clip", title: text, "aria-expanded": "false", onclick: toggle }, text);
    };
    const tr = h("tr", {
      class: onRow ? "clickable" : null,
      tabindex: onRow ? "0" : null,
      onclick: onRow ? (e) => { if (!own(e)) onRow(r); } : null,
      onkeydown: onRow ? (e) => { if (e.key === "Enter" && !own(e)) onRow(r); } : null,
    }, columns.map((c) => h("td", { class: [c.num ? "num" : "", c.nowrap ? "nowrap" : ""].join(" ").trim() || null, "data-col": c.key }, cell(c))));
    body.append(tr);
  }
  return h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)))), body);
}

// named shows an offer, affiliate or advertiser by its name, linked to its
// page (href, when it has one), its ID beside: "Summer Promo #3". Without
// a name (an entity no longer in the catalog) the ID alone shows.
export function named(name, id, href) {
  if (id === undefined || id === null || id === "") return "—";
  const label = name || "#" + id;
  return h("span", { class: "named" }, href ? h("a", { href }, label) : label,
    name ? h("span", { class: "muted id" }, " #" + id) : null);
}

// nameLabel is named as plain text, for a chart's labels: "Summer Promo (#3)".
export const nameLabel = (name, id) => (name ? `${name} (#${id})` : "#" + id);

export function tile(label, value, cls, id) {
  return h("div", { class: "tile " + (cls || ""), id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

// copyButton copies text, saying so on the button.
export function copyButton(getText, label = "Copy") {
  const b = h("button", { type: "button", class: "secondary" }, label);
  b.addEventListener("click", async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = "Copied";
    } catch {
      // No clipboard (plain HTTP on another host): select the text instead.
      b.textContent = "Select and copy";
    }
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}

// field is a labelled input with a slot for the API's validation message.
export function field(label, input, name) {
  return h("label", {}, label, input, h("span", { class: "field-error", "data-field": name || input.name }));
}

// showErrors puts an API error next to the field it names (by the error
// code: missing_name, invalid_tracking_url, ...), else in the form's error.
export function showErrors(form, err) {
  form.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
  if (!err) return;
  const code = String(err.code || "").toLowerCase();
  const name = code.replace(/^(missing|invalid)_/, "").replace(/_(too_long|required|invalid)$/, "");
  let slot = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
  if (!slot) {
    for (const e of form.querySelectorAll(".field-error")) {
      if (err.message && err.message.split(/\W+/).includes(e.dataset.field)) { slot = e; break; }
    }
  }
  (slot || general || form).append(document.createTextNode(err.message || "Request failed."));
}

// stamp shows an API time (RFC 3339, UTC) as "YYYY-MM-DD hh:mm:ss", with
// its milliseconds when ms is true.
export const stamp = (t, ms = false) => (t || "").replace("T", " ").slice(0, ms ? 23 : 19);

// dateInput is YYYY-MM-DD, days from today (UTC).
export function isoDay(daysFromToday = 0) {
  const d = new Date(Date.now() + daysFromToday * 86400000);
  return d.toISOString().slice(0, 10);
}

// download saves a Blob under name.
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

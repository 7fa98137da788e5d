// A network's business rules as the console shows and edits them: caps
// (an offer's, or an affiliate's on it) as bars with their text, a caps
// editor for the forms, and access and blocked sub-IDs in words.
import { h, int, money, field } from "./dom.js";

export const capMetrics = [["clicks", "Clicks"], ["conversions", "Conversions"], ["payout", "Payout"], ["revenue", "Revenue"]];
export const capPeriods = [["day", "per day"], ["week", "per week"], ["month", "per month"], ["total", "in total"]];
const metricTitle = Object.fromEntries(capMetrics);

// periodWords say where a cap's count stands in time: the network's day,
// ISO week or month, or for ever (API: CapStanding.period).
const periodWords = { day: "today", week: "this week", month: "this month", total: "in total" };

const isMoney = (metric) => metric === "payout" || metric === "revenue";

// capText is a cap's standing as a person reads it: "312 of 500 today",
// "1,250.00 of 5,000.00 USD this month" for money, which is in the offer's
// currency.
export function capText(c, currency) {
  const when = periodWords[c.period] || c.period;
  if (isMoney(c.metric)) return `${money(c.used)} of ${money(c.limit)} ${currency || ""} ${when}`.replace(/\s+/g, " ");
  return `${int(c.used)} of ${int(c.limit)} ${when}`;
}

// capBar draws a cap as a meter (full at its limit, coloured as it nears
// it) with its metric and its text beside.
export function capBar(c, currency) {
  const limit = Number(c.limit) || 0, used = Math.min(Number(c.used) || 0, limit);
  const reached = limit > 0 && Number(c.used) >= limit;
  return h("div", { class: "cap" + (reached ? " reached" : ""), "data-metric": c.metric, "data-period": c.period },
    h("span", { class: "cap-metric" }, metricTitle[c.metric] || c.metric),
    h("meter", { min: "0", max: String(limit), value: String(used), low: String(limit * 0.8), high: String(limit * 0.95), optimum: "0",
      "aria-label": `${metricTitle[c.metric] || c.metric}: ${capText(c, currency)}` }),
    h("span", { class: "cap-text" }, capText(c, currency)));
}

// capBars draws a list of caps, or says there are none.
export function capBars(caps, currency, none = "No caps.") {
  if (!caps || caps.length === 0) return h("span", { class: "muted" }, none);
  return h("div", { class: "caps" }, caps.map((c) => capBar(c, currency)));
}

// capsEditor edits a list of caps: a row per cap (metric, period, limit),
// rows added and removed. Its value is the list as the API takes it; a
// row with no limit is sent as 0, so that the API's message says what is
// missing instead of the row being dropped unseen.
export function capsEditor(caps, idPrefix) {
  const rows = h("div", { class: "cap-rows", id: idPrefix + "-cap-rows" });
  const addRow = (c = {}) => {
    const metric = h("select", { name: "cap_metric", "aria-label": "Cap metric" },
      capMetrics.map(([v, label]) => h("option", { value: v, selected: v === (c.metric || "conversions") }, label)));
    const period = h("select", { name: "cap_period", "aria-label": "Cap period" },
      capPeriods.map(([v, label]) => h("option", { value: v, selected: v === (c.period || "day") }, label)));
    const limit = h("input", { name: "cap_limit", type: "number", min: "0", step: "any", value: c.limit ?? "", "aria-label": "Cap limit", placeholder: "limit" });
    const row = h("div", { class: "cap-row" }, metric, period, limit,
      h("button", { type: "button", class: "secondary remove-cap", onclick: () => row.remove() }, "Remove"));
    rows.append(row);
    return row;
  };
  for (const c of caps || []) addRow(c);
  const el = h("fieldset", { class: "caps-editor" }, h("legend", {}, "Caps"),
    h("p", { class: "muted" }, "Clicks or conversions counted, or payout or revenue in the offer's currency, per day, week or month of the network's time zone, or in total."),
    rows,
    h("button", { type: "button", class: "secondary add-cap", id: idPrefix + "-add-cap", onclick: () => addRow().querySelector("input").focus() }, "Add cap"),
    h("span", { class: "field-error", "data-field": "caps" }));
  const value = () => [...rows.querySelectorAll(".cap-row")].map((r) => ({
    metric: r.querySelector("[name=cap_metric]").value,
    period: r.querySelector("[name=cap_period]").value,
    limit: Number(r.querySelector("[name=cap_limit]").value || 0),
  }));
  return { el, value, addRow };
}

export const subNames = ["sub1", "sub2", "sub3", "sub4", "sub5"];

// blockedText lists an affiliate's blocked sub-IDs: "sub1: a, b · sub3: c".
export function blockedText(b) {
  const parts = subNames.filter((s) => b && b[s] && b[s].length).map((s) => `${s}: ${b[s].join(", ")}`);
  return parts.length ? parts.join(" · ") : "";
}

// blockedEditor edits blocked sub-IDs: a field per sub, values separated
// by commas or new lines.
export function blockedEditor(b) {
  const inputs = Object.fromEntries(subNames.map((s) => [s, h("input", { name: "blocked_" + s, id: "record-blocked-" + s,
    value: ((b && b[s]) || []).join(", "), placeholder: "none" })]));
  const el = h("fieldset", { class: "blocked-editor" }, h("legend", {}, "Blocked sub-IDs"),
    h("p", { class: "muted" }, "A click carrying one of these values is turned away (blocked). Separate values with commas."),
    h("div", { class: "form-grid five" }, subNames.map((s) => field(s, inputs[s]))),
    h("span", { class: "field-error", "data-field": "blocked_subs" }));
  const value = () => Object.fromEntries(subNames.map((s) => [s, inputs[s].value.split(/[,\n]+/).map((v) => v.trim()).filter(Boolean)]));
  return { el, value };
}

// accessWords say what an affiliate's access on an offer means.
export const accessWords = {
  approved: "may run it", pending: "applied, waiting", rejected: "refused", blocked: "blocked: its clicks are turned away",
};

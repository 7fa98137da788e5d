// The affiliate portal. Every call goes to the affiliate API (/v1/...),
// which scopes each answer to the signed-in affiliate: the portal cannot
// show another affiliate's data because the API never hands it over.
import { h, fill, int, money, pct, badge, table, tile, copyButton, field, showErrors, isoDay, stamp, named, nameLabel } from "./dom.js";
import { api, qs, ApiError } from "./api.js";
import { chart, chartKey } from "./chart.js";
import { deliveriesCard } from "./admin.js";
import { sequence, drawing } from "./page.js";

export const affiliateNav = [["#/a/offers", "Offers"], ["#/a/stats", "Stats"], ["#/a/conversions", "Conversions"], ["#/a/postbacks", "Postbacks"]];

export const affiliateRoutes = {
  "a/offers": offersPage, "a/stats": statsPage, "a/conversions": conversionsPage,
  "a/postbacks": postbacksPage, "a/postbacks/:id": postbackPage,
};

const subHelp = [
  ["sub1 … sub5", "Your own values (campaign, placement, creative…): kept with the click, grouped in stats, returned in postbacks as {sub1}…{sub5}."],
  ["aff_click_id", "Your click ID, returned in postbacks as {aff_click_id}."],
  ["click_id", "Ours, minted at the click: postbacks carry it as {click_id} (and {transaction_id})."],
];

// approvalWords say where the affiliate stands on an offer (GET /v1/offers'
// approval_status), and what it can do about it.
const approvalWords = {
  approved: "approved", not_applied: "needs approval: apply to run it", pending: "pending: waiting for the network's approval",
  rejected: "rejected",
};

async function offersPage(view) {
  const [d, links] = await Promise.all([api("GET", "/v1/offers?per_page=100"), api("GET", "/v1/smart-links?per_page=100")]);
  const card = (o) => {
    const box = h("div", { class: "card offer", "data-offer": o.id, "data-approval": o.approval_status });
    const msg = h("p", { class: "error", role: "alert" });
    // The tracking link is given only where the affiliate may send traffic;
    // elsewhere the card says why not, with Apply where it can ask.
    const access = o.tracking_link
      ? h("div", { class: "link-box" }, h("input", { readonly: true, class: "tracking-link", value: o.tracking_link, "aria-label": "Tracking link" }), copyButton(() => o.tracking_link))
      : h("div", { class: "toolbar" }, h("p", { class: "approval muted" }, approvalWords[o.approval_status] || o.approval_status),
        o.approval_status === "not_applied" ? h("button", { type: "button", class: "apply", onclick: async (e) => {
          const button = e.currentTarget;
          button.disabled = true;
          try {
            const r = await api("POST", `/v1/offers/${encodeURIComponent(o.id)}/apply`);
            box.replaceWith(card({ ...o, approval_status: r.approval_status, tracking_link: r.tracking_link }));
          } catch (x) { msg.textContent = x.message; button.disabled = false; }
        } }, "Apply") : null);
    const visibility = o.visibility === "public" ? null : h("span", { class: "badge approval-status " + o.approval_status }, o.approval_status.replace("_", " "));
    return fill(box, h("h2", {}, o.name, " ", badge(o.status), " ", visibility),
      h("p", { class: "muted" }, `#${o.id} · ${o.vertical || "—"} · payout ${money(o.payout)} ${String(o.payout_type).toUpperCase()} · EPC ${money(o.epc_avg)} · geo ${(o.geo || []).join(" ") || "all"}`),
      access, msg,
      o.preview_url ? h("p", {}, h("a", { href: o.preview_url, rel: "noopener noreferrer", target: "_blank" }, "Preview the landing page")) : null);
  };
  const cards = (d.data || []).map(card);
  // Smart links: one link over several offers, each visitor sent to one
  // that can take them; which offers, and how split, is the network's.
  const smartLinks = (links.data || []).length === 0 ? null : h("div", { class: "card", id: "aff-smart-links" }, h("h2", {}, "Smart links"),
    h("p", { class: "muted" }, "One link over several offers: each visitor goes to an offer that can take them. The same parameters apply."),
    links.data.map((l) => h("div", { class: "smart-link", "data-smart-link": l.id }, h("h3", {}, l.name),
      h("div", { class: "link-box" }, h("input", { readonly: true, class: "smart-link-url", value: l.tracking_link, "aria-label": `${l.name}: tracking link` }),
        copyButton(() => l.tracking_link)))),
    links.meta && links.meta.total > links.data.length ? h("p", { class: "muted" }, `The first ${links.data.length} of ${int(links.meta.total)}.`) : null);
  fill(view, h("h1", {}, "Your offers"),
    h("div", { class: "card" }, h("h2", {}, "Tracking links"),
      h("p", { class: "muted" }, "Each link is ready to use. Append these parameters as you need them, e.g. &sub1=summer&sub2=banner-a:"),
      h("dl", { class: "kv" }, subHelp.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("p", { class: "muted" }, "Offers that need the network's approval show their link once you are approved: apply on their card.")),
    smartLinks,
    cards.length ? cards : h("p", { class: "muted" }, "No offers yet."));
}

const groups = ["date", "hour", "offer", "geo", "device", "os", "sub1", "sub2", "sub3", "sub4", "sub5"];

// offerNames maps the affiliate's offers' IDs to their names: its stats
// and conversions carry IDs only (seed 000's shapes). A key without
// read:offers shows the IDs alone.
async function offerNames() {
  try {
    return new Map(((await api("GET", "/v1/offers?per_page=100")).data || []).map((o) => [o.id, o.name]));
  } catch (x) {
    if (x instanceof ApiError && x.status === 403) return new Map();
    throw x;
  }
}

async function statsPage(view) {
  const from = h("input", { type: "date", name: "date_from", value: isoDay(-6) });
  const to = h("input", { type: "date", name: "date_to", value: isoDay(0) });
  const group = h("select", { name: "group_by" }, groups.map((g) => h("option", { value: g }, g)));
  const form = h("form", { class: "toolbar", id: "aff-stats-form" }, field("From", from), field("To", to), field("Group by", group),
    h("button", { type: "submit" }, "Run"), h("p", { class: "error form-error" }));
  const totals = h("div", { class: "tiles", id: "aff-totals" });
  const chartBox = h("div", { class: "card" });
  const tableBox = h("div", { class: "card", id: "aff-stats-table" });
  const next = sequence();
  async function run() {
    showErrors(form);
    // The grouping asked for, not the form's when the answer comes.
    const latest = next(), grouping = group.value;
    let d, names;
    try {
      [d, names] = await Promise.all([api("GET", "/v1/stats" + qs({ date_from: from.value, date_to: to.value, group_by: grouping })), offerNames()]);
    } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    const rows = d.data || [];
    const sum = (k) => rows.reduce((a, r) => a + Number(r[k] || 0), 0);
    fill(totals, tile("Clicks", int(sum("clicks")), "", "aff-clicks"), tile("Unique clicks", int(sum("unique_clicks")), "", "aff-unique"),
      tile("Conversions", int(sum("conversions")), "", "aff-conversions"), tile("Earnings", money(sum("revenue")), "", "aff-revenue"),
      tile("EPC", money(sum("clicks") ? sum("revenue") / sum("clicks") : 0), "", "aff-epc"));
    const key = grouping === "offer" ? "offer_id" : grouping;
    const time = key === "date" || key === "hour";
    const shown = rows.slice(0, time ? 1000 : 30);
    const text = (r) => (key === "offer_id" ? nameLabel(names.get(r.offer_id), r.offer_id) : r[key] || "—");
    fill(chartBox, chart(shown.map(text), [{ name: "clicks", values: shown.map((r) => r.clicks) }, { name: "conversions", values: shown.map((r) => r.conversions) }],
      { kind: time ? "line" : "bar", title: "Clicks and conversions" }), chartKey(["Clicks", "Conversions"]));
    fill(tableBox, table([
      { key, label: grouping, fmt: (r) => (key === "offer_id" ? named(names.get(r.offer_id), r.offer_id) : text(r)) },
      { key: "clicks", label: "Clicks", num: true, fmt: (r) => int(r.clicks) },
      { key: "unique_clicks", label: "Unique", num: true, fmt: (r) => int(r.unique_clicks) },
      { key: "conversions", label: "Conv.", num: true, fmt: (r) => int(r.conversions) }, { key: "cvr", label: "CVR", num: true, fmt: (r) => pct(r.cvr) },
      { key: "revenue", label: "Earnings", num: true, fmt: (r) => money(r.revenue) }, { key: "epc", label: "EPC", num: true, fmt: (r) => money(r.epc) },
    ], rows, null, "No traffic in this range."));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  fill(view, h("h1", {}, "Your stats"), h("div", { class: "card" }, form), totals, chartBox, tableBox);
  await run();
}

async function conversionsPage(view) {
  const from = h("input", { type: "date", name: "date_from", value: isoDay(-6) });
  const to = h("input", { type: "date", name: "date_to", value: isoDay(0) });
  const status = h("select", { name: "status" }, h("option", { value: "" }, "any"), ["pending", "approved", "rejected"].map((s) => h("option", { value: s }, s)));
  const form = h("form", { class: "toolbar", id: "aff-conversion-filters" }, field("From", from), field("To", to), field("Status", status),
    h("button", { type: "submit" }, "Filter"), h("p", { class: "error form-error" }));
  const box = h("div", { id: "aff-conversions-list" });
  const next = sequence();
  async function load() {
    showErrors(form);
    const latest = next();
    let d, names;
    try {
      [d, names] = await Promise.all([api("GET", "/v1/conversions" + qs({ date_from: from.value, date_to: to.value, status: status.value, per_page: 100 })), offerNames()]);
    } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    fill(box, table([
      { key: "created_at", label: "Time", fmt: (r) => stamp(r.created_at) }, { key: "conversion_id", label: "Conversion" },
      { key: "click_id", label: "Click" }, { key: "offer_id", label: "Offer", fmt: (r) => named(names.get(r.offer_id), r.offer_id) },
      { key: "sub1", label: "sub1" }, { key: "geo", label: "Geo" },
      { key: "payout", label: "Payout", num: true, fmt: (r) => money(r.payout) }, { key: "status", label: "Status", fmt: (r) => badge(r.status) },
    ], d.data, null, "No conversions in this range."));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  fill(view, h("h1", {}, "Your conversions"), h("div", { class: "card" }, form, box));
  await load();
}

async function postbacksPage(view) {
  const [d, names] = await Promise.all([api("GET", "/v1/postbacks"), offerNames()]);
  const url = h("input", { name: "url", id: "pb-url", placeholder: "https://you.example/pb?click={click_id}&payout={payout}", size: "50" });
  const event = h("select", { name: "event", id: "pb-event" }, ["conversion", "approved", "rejected"].map((e) => h("option", { value: e }, e)));
  const offer = h("input", { name: "offer_id", id: "pb-offer", placeholder: "all offers", size: "8" });
  const form = h("form", { class: "card", id: "new-postback-form" }, h("h2", {}, "New postback"),
    h("div", { class: "form-grid" }, field("URL", url), field("Event", event), field("Offer ID", offer)),
    h("p", { class: "muted" }, "Macros: {click_id} {payout} {offer_id} {geo} {sub1}…{sub5} {aff_click_id} {conversion_id} {txid} {amount} {currency} {event} {status} {timestamp}."),
    h("p", { class: "error form-error" }), h("button", { type: "submit", id: "pb-create" }, "Create postback"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showErrors(form);
    try {
      await api("POST", "/v1/postbacks", { url: url.value, event: event.value, ...(offer.value ? { offer_id: offer.value } : {}) });
      await drawing(view, postbacksPage(view));
    } catch (x) { showErrors(form, x); }
  });
  const result = h("div", { id: "pb-test-result" });
  const rows = (d.data || []).map((p) => ({ ...p }));
  fill(view, h("h1", {}, "Your postbacks"), result,
    h("div", { class: "card" }, table([
      { key: "postback_id", label: "ID", fmt: (p) => h("a", { href: "#/a/postbacks/" + encodeURIComponent(p.postback_id) }, p.postback_id) },
      { key: "event", label: "Event" }, { key: "offer_id", label: "Offer", fmt: (p) => (p.offer_id ? named(names.get(p.offer_id), p.offer_id) : "all") },
      { key: "url", label: "URL", clip: (p) => p.url },
      { key: "status", label: "Status", fmt: (p) => badge(p.status) },
      { key: "actions", label: "", fmt: (p) => h("div", { class: "toolbar" },
        h("button", { type: "button", class: "secondary", onclick: async () => {
          try {
            const r = await api("POST", `/v1/postbacks/${encodeURIComponent(p.postback_id)}/test`);
            fill(result, h("div", { class: "notice" }, h("strong", {}, r.delivered ? "Test delivered. " : "Test not delivered. "),
              h("pre", {}, `GET ${r.url}\n→ ${r.status_code || r.error} in ${Math.round(r.latency_ms)} ms\n${r.response_body || ""}`)));
          } catch (x) { fill(result, h("p", { class: "error" }, x.message)); }
        } }, "Test"),
        h("a", { class: "button secondary", href: "#/a/postbacks/" + encodeURIComponent(p.postback_id) }, "Deliveries"),
        h("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm("Delete this postback?")) return;
          await api("DELETE", "/v1/postbacks/" + encodeURIComponent(p.postback_id));
          drawing(view, postbacksPage(view));
        } }, "Delete")) },
    ], rows, null, "No postbacks yet: add one below.")), form);
}

async function postbackPage(view, { id }) {
  const box = h("div", { id: "deliveries" });
  fill(view, h("p", {}, h("a", { href: "#/a/postbacks" }, "← Your postbacks")), h("h1", {}, "Postback ", id), box);
  await deliveriesCard(box, "/v1/postbacks/" + encodeURIComponent(id), { list: "data", conversionPage: null });
}

// The network admin's pages. Each calls the admin API (/v2/...) and the
// seed 004 report, exactly as any other client would.
import { h, fill, int, money, pct, badge, table, tile, copyButton, field, showErrors, isoDay, download, stamp, named, nameLabel } from "./dom.js";
import { api, qs } from "./api.js";
import { chart, chartKey } from "./chart.js";
import { onLeave, current, sequence, drawing } from "./page.js";
import { capBars, capsEditor, blockedEditor, blockedText, accessWords } from "./rules.js";
import { targetingEditor, targetingList, targetingText } from "./targeting.js";

export const adminNav = [
  ["#/overview", "Overview"], ["#/offers", "Offers"], ["#/advertisers", "Advertisers"], ["#/affiliates", "Affiliates"],
  ["#/smart-links", "Smart links"], ["#/traffic-controls", "Traffic controls"],
  ["#/conversions", "Conversions"], ["#/postbacks", "Postbacks"], ["#/stats", "Stats"],
];

export const adminRoutes = {
  "overview": overview,
  "offers": offersPage, "offers/:id": offerPage,
  "advertisers": (v) => accountsPage(v, "advertisers"), "advertisers/:id": (v, p) => accountPage(v, "advertisers", p.id),
  "affiliates": (v) => accountsPage(v, "affiliates"), "affiliates/:id": (v, p) => accountPage(v, "affiliates", p.id),
  "conversions": conversionsPage, "conversions/:id": conversionPage,
  "postbacks": postbacksPage, "postbacks/:id": postbackPage,
  "stats": statsPage,
  "smart-links": smartLinksPage, "smart-links/:id": smartLinkPage,
  "traffic-controls": trafficControlsPage,
};

// ---- live overview -------------------------------------------------------

const liveMetrics = [
  ["clicks", "Clicks"], ["unique_clicks", "Unique clicks"], ["turned_away", "Turned away"], ["conversions", "Conversions"],
  ["revenue", "Revenue"], ["payout", "Payout"], ["profit", "Profit"],
];

// turnedAway are the clicks the click path turned away, by why (README,
// "Clicks turned away"): never counted in clicks. Denied are the network's
// traffic controls'; unrouted a smart link's visitors no offer could take.
const turnedAway = [["blocked", "Blocked"], ["capped", "Capped"], ["off_target", "Off target"], ["paused", "Paused"],
  ["denied", "Denied"], ["unrouted", "Unrouted"]];
const turnedAwayOf = (r) => turnedAway.reduce((a, [k]) => a + Number(r[k] || 0), 0);

// margin is profit per 100 of revenue, as /v2/stats answers it.
const marginOf = (profit, revenue) => (revenue ? (profit * 100) / revenue : 0);

// minuteLabel is HH:MM of a minute in the browser's time zone.
const minuteLabel = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });

// denseSeries fills the minutes the API left out (nothing happened) with
// zeros, so the chart's time axis is even.
function denseSeries(d) {
  const rows = d.series || [];
  const from = Date.parse(d.from), to = Date.parse(d.to);
  if (!(from < to) || (to - from) / 60000 > 24 * 60) return rows;
  const byMinute = new Map(rows.map((r) => [Math.floor(Date.parse(r.minute) / 60000), r]));
  const out = [];
  for (let m = Math.floor(from / 60000); m <= Math.floor(to / 60000); m++) {
    out.push(byMinute.get(m) || { minute: new Date(m * 60000).toISOString(), clicks: 0, unique_clicks: 0, conversions: 0,
      sale_amount: 0, revenue: 0, payout: 0, profit: 0, blocked: 0, capped: 0, off_target: 0, paused: 0, denied: 0, unrouted: 0 });
  }
  return out;
}

async function overview(view) {
  const alive = current();
  const shown = new Set(["clicks", "unique_clicks"]);
  const kpis = h("div", { class: "tiles", id: "kpis" });
  const away = h("div", { class: "tiles", id: "kpis-away" });
  const moneyTiles = h("div", { class: "tiles", id: "kpis-money" });
  const queue = h("div", { class: "card", id: "pending-queue" });
  const legend = h("div", { class: "legend", id: "live-legend" });
  const chartBox = h("div", { id: "live-chart" });
  const health = h("div", { class: "tiles", id: "pb-health" });
  const tops = h("div", { class: "grid three", id: "tops" });
  const updated = h("span", { class: "muted", id: "live-updated" });
  fill(view, h("h1", {}, "Live overview"),
    h("p", { class: "muted" }, "The last 3 hours, per minute; refreshed every 10 seconds. ", updated),
    kpis, h("p", { class: "muted tiles-title" }, "Clicks turned away (never counted in clicks):"), away, moneyTiles, queue, h("div", { class: "card" }, legend, chartBox), h("h2", {}, "Postback health"), health, tops);
  let last = null;
  for (const [key, label] of liveMetrics) {
    const b = h("button", { type: "button", "data-metric": key, "aria-pressed": String(shown.has(key)) }, label);
    b.addEventListener("click", () => {
      if (shown.has(key)) shown.delete(key); else shown.add(key);
      b.setAttribute("aria-pressed", String(shown.has(key)));
      if (last) draw(last);
    });
    legend.append(b);
  }
  function draw(d) {
    const rows = denseSeries(d);
    const sum = (k) => rows.reduce((a, r) => a + Number(r[k] || 0), 0);
    // Turned-away clicks beside the clicks taken: they never count in them.
    fill(kpis, tile("Clicks", int(sum("clicks")), "", "kpi-clicks"), tile("Unique clicks", int(sum("unique_clicks")), "", "kpi-unique"),
      tile("Conversions", int(sum("conversions")), "", "kpi-conversions"));
    fill(away, turnedAway.map(([k, label]) => tile(label, int(sum(k)), sum(k) ? "warn" : "", "kpi-" + k.replace("_", "-"))));
    fill(moneyTiles, tile("Sale amount", money(sum("sale_amount")), "", "kpi-sale-amount"), tile("Revenue", money(sum("revenue")), "", "kpi-revenue"),
      tile("Payout", money(sum("payout")), "", "kpi-payout"), tile("Profit", money(sum("profit")), "", "kpi-profit"),
      tile("Margin", pct(marginOf(sum("profit"), sum("revenue"))), "", "kpi-margin"));
    const value = (r, k) => (k === "turned_away" ? turnedAwayOf(r) : Number(r[k] || 0));
    const series = liveMetrics.filter(([k]) => shown.has(k)).map(([k, label]) => ({ name: k, label, values: rows.map((r) => value(r, k)) }));
    fill(chartBox, chart(rows.map((r) => minuteLabel(r.minute)), series, { title: "Per minute, last 3 hours" }));
    const pb = d.postbacks || {};
    fill(health, tile("Delivered", int(pb.delivered), "ok", "pb-delivered"), tile("Retrying", int(pb.retrying), pb.retrying ? "warn" : "", "pb-retrying"),
      tile("Failed", int(pb.failed), pb.failed ? "bad" : "", "pb-failed"), tile("Dead", int(pb.dead), pb.dead ? "bad" : "", "pb-dead"),
      tile("p99 latency", `${Math.round(Number(pb.p99_latency_ms) || 0)} ms`, "", "pb-p99"));
    const top = d.top || {};
    const topTable = (title, rows, link) => h("div", { class: "card" }, h("h2", {}, title), table([
      { key: "name", label: "Name", fmt: (r) => link ? h("a", { href: link + encodeURIComponent(r.id) }, r.name || r.id) : (r.name || r.id) },
      { key: "clicks", label: "Clicks", num: true, fmt: (r) => int(r.clicks) },
      { key: "conversions", label: "Conv.", num: true, fmt: (r) => int(r.conversions) },
      { key: "revenue", label: "Revenue", num: true, fmt: (r) => money(r.revenue) },
    ], rows, null, "No traffic in the last 3 hours."));
    fill(tops, topTable("Top offers", top.offers, "#/offers/"), topTable("Top affiliates", top.affiliates, "#/affiliates/"),
      topTable("Top countries", top.countries));
    updated.textContent = "Updated " + new Date().toLocaleTimeString();
  }
  async function load() {
    const [d] = await Promise.all([api("GET", "/v2/stats/live?minutes=180"), loadQueue()]);
    if (!alive()) return;
    last = d;
    draw(d);
  }
  const queueMsg = h("p", { role: "status", id: "queue-message" });
  const queueList = h("div", { id: "queue-list" });
  fill(queue, h("h2", {}, "Applications waiting"), queueMsg, queueList);
  const nextQueue = sequence();
  // loadQueue lists the affiliates that applied to an offer requiring
  // approval and wait for an answer, oldest first (the API lists by offer).
  async function loadQueue() {
    const latest = nextQueue();
    const d = await api("GET", "/v2/offer-affiliates?access=pending&per_page=100");
    if (!latest()) return;
    const rows = (d.offer_affiliates || []).slice().sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    const more = d.meta && d.meta.total > rows.length ? h("p", { class: "muted" }, `The first ${rows.length} of ${int(d.meta.total)} applications.`) : null;
    fill(queueList, table([
      { key: "affiliate_id", label: "Affiliate", fmt: (r) => entity("affiliate", r.affiliate_id, r.affiliate_name) },
      { key: "offer_id", label: "Offer", fmt: (r) => entity("offer", r.offer_id, r.offer_name) },
      { key: "payout_in_force", label: "Payout", num: true, fmt: (r) => money(r.payout_in_force) },
      { key: "created_at", label: "Applied", nowrap: true, fmt: (r) => stamp(r.created_at) },
      { key: "actions", label: "", fmt: (r) => h("div", { class: "toolbar actions" }, accessButtons(r, queueMsg, loadQueue, ["approved", "rejected"])) },
    ], rows, null, "No applications waiting."), more);
  }
  await load();
  const timer = setInterval(() => load().catch((e) => { updated.textContent = "Refresh failed: " + e.message; }), 10000);
  onLeave(() => clearInterval(timer));
}

// ---- shared bits ---------------------------------------------------------

// pages of the entities an ID names.
const pageOf = { offer: "#/offers/", affiliate: "#/affiliates/", advertiser: "#/advertisers/" };
const plural = { offer: "offers", affiliate: "affiliates", advertiser: "advertisers" };

// entity shows an offer's, affiliate's or advertiser's ID by its name,
// linked to its page.
const entity = (kind, id, name) => named(name, id, id ? pageOf[kind] + encodeURIComponent(id) : null);

// namesOf maps the IDs of every offer, affiliate or advertiser (the first
// 500, the API's largest page) to their names, for the answers that carry
// IDs only (an offer's advertiser, a postback's affiliate).
async function namesOf(kind) {
  const list = (await api("GET", `/v2/${plural[kind]}?per_page=500`))[plural[kind]] || [];
  return new Map(list.map((e) => [e.id, e.name]));
}

// keyNotice shows a key once, with a copy button.
function keyNotice(what, key, id) {
  return h("div", { class: "notice", id: "new-key-notice", "data-id": id },
    h("strong", {}, `${what}'s API key — shown once, copy it now: `),
    h("div", { class: "link-box" }, h("input", { readonly: true, id: "new-key", value: key }), copyButton(() => key)));
}

function searchBar(placeholder, onSearch) {
  const q = h("input", { type: "search", name: "q", placeholder, "aria-label": placeholder });
  const form = h("form", { class: "toolbar", role: "search" }, q, h("button", { type: "submit", class: "secondary" }, "Search"));
  form.addEventListener("submit", (e) => { e.preventDefault(); onSearch(q.value.trim()); });
  return form;
}

function pager(meta, go) {
  if (!meta || meta.total <= meta.per_page) return null;
  const pages = Math.ceil(meta.total / meta.per_page);
  return h("div", { class: "pager" },
    h("button", { type: "button", class: "secondary", disabled: meta.page <= 1, onclick: () => go(meta.page - 1) }, "Previous"),
    h("span", { class: "muted" }, `Page ${meta.page} of ${pages} (${int(meta.total)})`),
    h("button", { type: "button", class: "secondary", disabled: meta.page >= pages, onclick: () => go(meta.page + 1) }, "Next"));
}

// submitter wires a form to an API call: validation messages go next to
// their fields, success to done.
function submitter(form, call, done) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showErrors(form);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      done(await call());
    } catch (x) {
      showErrors(form, x);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

// ---- advertisers and affiliates ------------------------------------------

const single = { advertisers: "advertiser", affiliates: "affiliate" };

async function accountsPage(view, kind) {
  const one = single[kind];
  const listBox = h("div", { id: kind + "-list" });
  const notice = h("div");
  const name = h("input", { name: "name", id: "new-name", required: true });
  const extra = kind === "advertisers"
    ? field("Contact email", h("input", { name: "contact_email", id: "new-contact-email", type: "email" }))
    : field("Tier", h("select", { name: "tier", id: "new-tier" }, h("option", { value: "standard" }, "standard"), h("option", { value: "premium" }, "premium")));
  const form = h("form", { class: "card", id: `new-${one}-form` }, h("h2", {}, `New ${one}`),
    h("div", { class: "form-grid" }, field("Name", name), extra),
    h("p", { class: "error form-error" }), h("button", { type: "submit", id: `create-${one}` }, `Create ${one}`));
  submitter(form, () => {
    const body = { name: name.value };
    for (const el of form.querySelectorAll("input[name=contact_email], select[name=tier]")) if (el.value) body[el.name] = el.value;
    return api("POST", "/v2/" + kind, body);
  }, (d) => {
    const acc = d[one];
    fill(notice, keyNotice(`${acc.name} (#${acc.id})`, acc.api_key, acc.id));
    form.reset();
    load(state);
  });
  const state = { q: "", page: 1 };
  async function load(st) {
    const d = await api("GET", `/v2/${kind}` + qs({ q: st.q, page: st.page, per_page: 50 }));
    const cols = [
      { key: "id", label: "ID" }, { key: "name", label: "Name" },
      kind === "advertisers" ? { key: "contact_email", label: "Contact" } : { key: "tier", label: "Tier" },
      { key: "status", label: "Status", fmt: (r) => badge(r.status) }, { key: "created_at", label: "Created", fmt: (r) => (r.created_at || "").slice(0, 10) },
    ];
    fill(listBox, table(cols, d[kind], (r) => { location.hash = `#/${kind}/${encodeURIComponent(r.id)}`; }, "None yet."),
      pager(d.meta, (p) => { st.page = p; load(st); }));
  }
  fill(view, h("h1", {}, kind === "advertisers" ? "Advertisers" : "Affiliates"), notice, form,
    h("div", { class: "card" }, searchBar(`Search ${kind} by name or ID`, (q) => { state.q = q; state.page = 1; load(state); }), listBox));
  await load(state);
}

async function accountPage(view, kind, id) {
  const one = single[kind];
  const d = await api("GET", `/v2/${kind}/${encodeURIComponent(id)}`);
  const acc = d[one];
  const notice = h("div");
  const name = h("input", { name: "name", value: acc.name });
  const fields = [field("Name", name)];
  let email, tier, ips;
  if (kind === "advertisers") {
    email = h("input", { name: "contact_email", type: "email", value: acc.contact_email || "" });
    fields.push(field("Contact email", email));
    // Its servers: conversions from elsewhere are rejected (ip_not_allowed).
    ips = h("textarea", { name: "conversion_ips", id: "advertiser-conversion-ips", rows: "3", placeholder: "any address",
      value: (acc.conversion_ips || []).join("\n") });
  } else {
    tier = h("select", { name: "tier" }, ["standard", "premium"].map((t) => h("option", { value: t, selected: t === acc.tier }, t)));
    fields.push(field("Tier", tier));
  }
  const form = h("form", { class: "card", id: "edit-account-form" }, h("h2", {}, "Details"), h("div", { class: "form-grid" }, fields),
    ips ? h("fieldset", { class: "conversion-ips" }, h("legend", {}, "Conversions only from"),
      h("p", { class: "muted" }, "The advertiser's servers: addresses or CIDR ranges (v4 or v6), one per line, at most 100. A conversion from elsewhere is recorded as rejected (ip_not_allowed). Empty: from any address."),
      ips, h("span", { class: "field-error", "data-field": "conversion_ips" })) : null,
    h("p", { class: "error form-error" }), h("button", { type: "submit", id: "save-account" }, "Save"));
  submitter(form, () => {
    const body = { name: name.value };
    if (email) body.contact_email = email.value;
    if (tier) body.tier = tier.value;
    if (ips) body.conversion_ips = ips.value.split(/[\s,]+/).filter(Boolean);
    return api("PATCH", `/v2/${kind}/${encodeURIComponent(id)}`, body);
  }, (saved) => {
    // The API's list, masked and canonical, replaces what was typed.
    if (ips) ips.value = (saved[one].conversion_ips || []).join("\n");
    fill(notice, h("div", { class: "notice", id: "account-saved" }, "Saved."));
  });
  const paused = acc.status !== "active";
  const actions = h("div", { class: "toolbar" },
    h("button", { type: "button", class: paused ? "" : "secondary", id: "toggle-status", onclick: async () => {
      await api("PATCH", `/v2/${kind}/${encodeURIComponent(id)}`, { status: paused ? "active" : "paused" });
      drawing(view, accountPage(view, kind, id));
    } }, paused ? "Activate" : "Pause"),
    h("button", { type: "button", class: "danger", id: "rotate-key", onclick: async () => {
      if (!confirm(`Rotate ${acc.name}'s API key? The current key stops working at once.`)) return;
      const r = await api("POST", `/v2/${kind}/${encodeURIComponent(id)}/rotate-key`);
      fill(notice, keyNotice(acc.name, r[one].api_key, acc.id));
    } }, "Rotate key"));
  const extra = h("div");
  fill(view, h("p", {}, h("a", { href: "#/" + kind }, `← ${kind === "advertisers" ? "Advertisers" : "Affiliates"}`)),
    h("h1", {}, acc.name, " ", badge(acc.status)), h("p", { class: "muted" }, `ID ${acc.id}`, kind === "affiliates" ? ` · app_id ${acc.app_id}` : ""),
    notice, actions, form, extra);
  if (kind === "advertisers") await endpointsCard(extra, id);
  else {
    const postbacks = h("div"), ctit = h("div", { class: "card", id: "affiliate-ctit" });
    extra.append(postbacks, ctit);
    await Promise.all([affiliatePostbacksCard(postbacks, id), ctitCard(ctit, { affiliate_id: id })]);
  }
}

async function endpointsCard(box, advertiserID) {
  const [d, offers] = await Promise.all([api("GET", "/v2/pb-endpoints" + qs({ advertiser_id: advertiserID })), namesOf("offer")]);
  const origin = location.origin;
  const kindSel = h("select", { name: "kind" }, h("option", { value: "primary" }, "primary (conversions)"), h("option", { value: "secondary" }, "secondary (events)"));
  const offer = h("input", { name: "offer_id", placeholder: "any offer" });
  const form = h("form", { class: "inline", id: "new-endpoint-form" }, field("Kind", kindSel), field("Offer ID", offer),
    h("button", { type: "submit" }, "Add endpoint"), h("p", { class: "error form-error" }));
  submitter(form, () => api("POST", "/v2/pb-endpoints", { advertiser_id: advertiserID, kind: kindSel.value, ...(offer.value ? { offer_id: offer.value } : {}) }),
    () => endpointsCard(box, advertiserID));
  fill(box, h("div", { class: "card", id: "endpoints" }, h("h2", {}, "Postback endpoints (advertiser → clickrelay)"),
    h("p", { class: "muted" }, "The advertiser calls these with ?clickid=…&sum=…&txid=… and its key in secure= or a header."),
    table([{ key: "id", label: "ID" }, { key: "kind", label: "Kind" },
      { key: "offer_id", label: "Offer", fmt: (r) => (r.offer_id ? entity("offer", r.offer_id, offers.get(r.offer_id)) : "any") },
      { key: "url", label: "URL", fmt: (r) => h("div", { class: "link-box" }, h("input", { readonly: true, value: origin + r.url }), copyButton(() => origin + r.url)) }],
    d.endpoints || []), form));
}

async function affiliatePostbacksCard(box, affiliateID) {
  const [d, names] = await Promise.all([api("GET", "/v2/postbacks" + qs({ affiliate_id: affiliateID, per_page: 100 })), postbackNames()]);
  fill(box, h("div", { class: "card" }, h("h2", {}, "Postbacks (clickrelay → affiliate)"), postbacksTable(d.postbacks, names)));
}

// postbackNames are the names a postbacks table shows.
async function postbackNames() {
  const [affiliate, offer] = await Promise.all([namesOf("affiliate"), namesOf("offer")]);
  return { affiliate, offer };
}

function postbacksTable(rows, names) {
  return table([
    { key: "postback_id", label: "ID", fmt: (r) => h("a", { href: "#/postbacks/" + encodeURIComponent(r.postback_id) }, r.postback_id) },
    { key: "affiliate_id", label: "Affiliate", fmt: (r) => entity("affiliate", r.affiliate_id, names.affiliate.get(r.affiliate_id)) },
    { key: "event", label: "Event" },
    { key: "offer_id", label: "Offer", fmt: (r) => (r.offer_id ? entity("offer", r.offer_id, names.offer.get(r.offer_id)) : "all") },
    { key: "url", label: "URL", clip: (r) => r.url },
    { key: "status", label: "Status", fmt: (r) => badge(r.status) }, { key: "signed", label: "Signed", fmt: (r) => (r.signed ? "yes" : "no") },
  ], rows, (r) => { location.hash = "#/postbacks/" + encodeURIComponent(r.postback_id); }, "No postbacks.");
}

// ---- offers ----------------------------------------------------------------

const payoutTypes = ["cpa", "cpl", "cpc", "cps", "revshare"];
const visibilities = [["public", "public: every affiliate"], ["require_approval", "approval required"], ["private", "private: approved affiliates only see it"]];
const visibilityTitle = { public: "public", require_approval: "approval required", private: "private" };

// amountValue is an amount as a form's field shows it: with cents
// ("2.50"), or every digit it has where it has more (never rounded, so
// that saving the form unchanged changes nothing).
const amountValue = (v) => (v === undefined || v === null ? "" : Number.isInteger(Math.round(v * 1e6) / 1e4) ? Number(v).toFixed(2) : String(v));

// offerForm builds the create / edit form; o is the offer edited (or {}).
function offerForm(o, advertisers, submitLabel) {
  const inp = (name, attrs = {}) => h("input", { name, id: "offer-" + name.replace(/_/g, "-"), ...attrs });
  const f = {
    name: inp("name", { value: o.name || "" }),
    advertiser_id: h("select", { name: "advertiser_id", id: "offer-advertiser-id" }, h("option", { value: "" }, "— choose —"),
      advertisers.map((a) => h("option", { value: a.id, selected: a.id === o.advertiser_id }, `${a.name} (#${a.id})`))),
    tracking_url: inp("tracking_url", { value: o.tracking_url || "", placeholder: "https://advertiser.example/lp?click={click_id}" }),
    payout: inp("payout", { type: "number", step: "0.01", min: "0", value: amountValue(o.payout) }),
    // The API answers the revenue in force, the payout's when the offer has
    // none of its own (revenue_follows_payout): shown empty then, so that
    // saving leaves it following the payout.
    revenue: inp("revenue", { type: "number", step: "0.01", min: "0", placeholder: "same as payout",
      value: o.id && !o.revenue_follows_payout ? amountValue(o.revenue) : "" }),
    visibility: h("select", { name: "visibility", id: "offer-visibility" }, visibilities.map(([v, label]) =>
      h("option", { value: v, selected: v === (o.visibility || "public") }, label))),
    payout_type: h("select", { name: "payout_type", id: "offer-payout-type" }, payoutTypes.map((t) => h("option", { value: t, selected: t === (o.payout_type || "cpa") }, t))),
    status: h("select", { name: "status", id: "offer-status" }, ["active", "paused"].map((t) => h("option", { value: t, selected: t === (o.status || "active") }, t))),
    currency: inp("currency", { value: o.currency || "USD", maxlength: "3" }),
    countries: inp("countries", { value: (o.countries || []).join(", "), placeholder: "US, GB (empty: everywhere)" }),
    os: inp("os", { value: o.os || "", placeholder: "android, ios (empty: any)" }),
    fallback_url: inp("fallback_url", { value: o.fallback_url || "" }),
    preview_url: inp("preview_url", { value: o.preview_url || "" }),
    vertical: inp("vertical", { value: o.vertical || "" }),
    auto_approve: inp("auto_approve", { type: "checkbox", checked: !!o.auto_approve }),
    filter_bots: inp("filter_bots", { type: "checkbox", checked: o.filter_bots ?? true }),
    // 0 is no bound, as the API reads it: shown empty.
    ctit_min_seconds: inp("ctit_min_seconds", { type: "number", min: "0", step: "1", value: o.ctit_min_seconds || "", placeholder: "no bound" }),
    ctit_max_seconds: inp("ctit_max_seconds", { type: "number", min: "0", step: "1", value: o.ctit_max_seconds || "", placeholder: "no bound" }),
  };
  const caps = capsEditor(o.caps, "offer");
  const targeting = targetingEditor(o.targeting, "offer");
  const form = h("form", { class: "card", id: "offer-form" },
    h("div", { class: "form-grid" },
      field("Name", f.name), field("Advertiser", f.advertiser_id), field("Tracking URL", f.tracking_url),
      field("Payout (the affiliate's)", f.payout), field("Revenue (the advertiser pays)", f.revenue), field("Payout type", f.payout_type),
      field("Visibility", f.visibility), field("Status", f.status),
      field("Currency", f.currency), field("Countries", f.countries), field("OS", f.os),
      field("Fallback URL", f.fallback_url), field("Preview URL", f.preview_url), field("Vertical", f.vertical)),
    h("p", {}, h("label", { class: "check" }, f.auto_approve, "Approve conversions automatically"),
      h("label", { class: "check" }, f.filter_bots, "Leave bots out of stats")),
    caps.el,
    h("fieldset", { class: "ctit-editor" }, h("legend", {}, "Click to conversion time"),
      h("p", { class: "muted" }, "A conversion sooner or later than these, counted from its click, is recorded as rejected: it pays nothing and fires no postback."),
      h("div", { class: "form-grid" }, field("At least (seconds)", f.ctit_min_seconds), field("At most (seconds)", f.ctit_max_seconds))),
    targeting.el,
    h("p", { class: "muted" }, "Macros in the tracking URL: {click_id} {offer_id} {aff_id} {sub1}…{sub5} {geo} {aff_click_id}."),
    h("p", { class: "error form-error" }), h("button", { type: "submit", id: "offer-submit" }, submitLabel));
  const body = () => {
    const b = {
      name: f.name.value, tracking_url: f.tracking_url.value, payout_type: f.payout_type.value, status: f.status.value,
      currency: f.currency.value.trim().toUpperCase() || "USD", os: f.os.value.trim(), fallback_url: f.fallback_url.value.trim(),
      preview_url: f.preview_url.value.trim(), vertical: f.vertical.value.trim(), auto_approve: f.auto_approve.checked, filter_bots: f.filter_bots.checked,
      countries: f.countries.value.split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase()),
    };
    if (f.advertiser_id.value) b.advertiser_id = f.advertiser_id.value;
    if (f.payout.value !== "") b.payout = Number(f.payout.value);
    // An empty revenue follows the payout: omitted on a new offer, null
    // on one edited (which may have had its own).
    if (f.revenue.value !== "") b.revenue = Number(f.revenue.value);
    else if (o.id) b.revenue = null;
    b.visibility = f.visibility.value;
    b.caps = caps.value();
    // An empty bound is none: omitted on a new offer, null on one edited.
    for (const k of ["ctit_min_seconds", "ctit_max_seconds"]) {
      if (f[k].value !== "") b[k] = Number(f[k].value);
      else if (o.id) b[k] = null;
    }
    b.targeting = targeting.value();
    return b;
  };
  form.addEventListener("reset", () => targeting.reset());
  return [form, body];
}

// duration is a number of seconds as a person says it: "30 days", "10 s".
function duration(sec) {
  const units = [[86400, "day", "days"], [3600, "h", "h"], [60, "min", "min"]];
  for (const [n, one, many] of units) if (sec >= n && sec % n === 0) return `${sec / n} ${sec === n ? one : many}`;
  return `${sec} s`;
}

// ctitWords are an offer's click-to-conversion bounds in words.
function ctitWords(o) {
  const min = Number(o.ctit_min_seconds) || 0, max = Number(o.ctit_max_seconds) || 0;
  if (!min && !max) return "any time after the click";
  const parts = [min ? `at least ${duration(min)}` : "", max ? `at most ${duration(max)}` : ""].filter(Boolean);
  return parts.join(", ") + " after the click (others are rejected)";
}

// unitOf is what an offer's payout and revenue are in: a percentage of
// the sale (cps, revshare), else its currency.
const unitOf = (o) => (o.payout_type === "cps" || o.payout_type === "revshare" ? "%" : o.currency);

async function allAdvertisers() {
  return (await api("GET", "/v2/advertisers?per_page=500")).advertisers || [];
}

async function offersPage(view) {
  const advertisers = await allAdvertisers();
  const advertiserNames = new Map(advertisers.map((a) => [a.id, a.name]));
  const [form, body] = offerForm({}, advertisers, "Create offer");
  const notice = h("div");
  submitter(form, () => api("POST", "/v2/offers", body()), (d) => {
    fill(notice, h("div", { class: "notice", id: "offer-created", "data-id": d.offer.id }, "Created offer ", h("a", { href: "#/offers/" + d.offer.id }, `${d.offer.name} (#${d.offer.id})`), "."));
    form.reset();
    form.querySelectorAll(".cap-row").forEach((r) => r.remove());
    load(state);
  });
  const listBox = h("div", { id: "offers-list" });
  const state = { q: "", page: 1 };
  async function load(st) {
    const d = await api("GET", "/v2/offers" + qs({ q: st.q, page: st.page, per_page: 50 }));
    fill(listBox, table([
      { key: "id", label: "ID" }, { key: "name", label: "Name" },
      { key: "advertiser_id", label: "Advertiser", fmt: (r) => entity("advertiser", r.advertiser_id, advertiserNames.get(r.advertiser_id)) },
      { key: "revenue", label: "Revenue", num: true, fmt: (r) => `${money(r.revenue)} ${unitOf(r)}` },
      { key: "payout", label: "Payout", num: true, fmt: (r) => `${money(r.payout)} ${unitOf(r)}` },
      { key: "payout_type", label: "Type" }, { key: "countries", label: "Geo", fmt: (r) => (r.countries || []).join(" ") || "all" },
      { key: "visibility", label: "Visibility", fmt: (r) => visibilityTitle[r.visibility] || r.visibility },
      { key: "status", label: "Status", fmt: (r) => badge(r.status) },
    ], d.offers, (r) => { location.hash = "#/offers/" + encodeURIComponent(r.id); }), pager(d.meta, (p) => { st.page = p; load(st); }));
  }
  fill(view, h("h1", {}, "Offers"), notice, h("details", { class: "card", id: "new-offer" }, h("summary", {}, "New offer"), form),
    h("div", { class: "card" }, searchBar("Search offers by name or ID", (q) => { state.q = q; state.page = 1; load(state); }), listBox));
  await load(state);
}

async function offerPage(view, { id }) {
  const [d, advertisers] = await Promise.all([api("GET", "/v2/offers/" + encodeURIComponent(id)), allAdvertisers()]);
  const o = d.offer;
  const [form, body] = offerForm(o, advertisers, "Save");
  const notice = h("div");
  submitter(form, () => api("PATCH", "/v2/offers/" + encodeURIComponent(id), body()), () => drawing(view, offerPage(view, { id })));
  const paused = o.status !== "active";
  const records = h("div", { class: "card", id: "offer-affiliates" });
  const ctit = h("div", { class: "card", id: "offer-ctit" });
  fill(view, h("p", {}, h("a", { href: "#/offers" }, "← Offers")),
    h("h1", {}, o.name, " ", badge(o.status)),
    h("p", { class: "muted", id: "offer-facts" }, `ID ${o.id} · slug ${o.slug} · advertiser `,
      entity("advertiser", o.advertiser_id, (advertisers.find((a) => a.id === o.advertiser_id) || {}).name),
      ` · created ${(o.created_at || "").slice(0, 10)}`),
    h("div", { class: "toolbar" },
      h("button", { type: "button", id: "toggle-offer-status", class: paused ? "" : "secondary", onclick: async () => {
        await api("PATCH", "/v2/offers/" + encodeURIComponent(id), { status: paused ? "active" : "paused" });
        drawing(view, offerPage(view, { id }));
      } }, paused ? "Activate" : "Pause"),
      h("a", { class: "button secondary", href: "#/stats?offer_id=" + encodeURIComponent(o.id) }, "Stats")),
    h("div", { class: "grid two" },
      h("div", { class: "card", id: "offer-terms" }, h("h2", {}, "Terms"), h("dl", { class: "kv" },
        [["Revenue", `${money(o.revenue)} ${unitOf(o)} (${o.payout_type}), what the advertiser pays`],
          ["Payout", `${money(o.payout)} ${unitOf(o)}, what an affiliate earns unless it has its own`],
          ["Profit", `${money(o.revenue - o.payout)} ${unitOf(o)} each, revenue less payout (less where an affiliate earns more)`],
          ["Visibility", visibilityTitle[o.visibility] || o.visibility], ["Converts", ctitWords(o)]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
      h("div", { class: "card", id: "offer-caps" }, h("h2", {}, "Caps of the offer"), capBars(o.caps, o.currency, "No caps: edit the offer below to add some."))),
    h("div", { class: "card", id: "offer-targeting" }, h("h2", {}, "Targeting"),
      targetingList(o.targeting, "Anyone: no targeting rules."),
      (o.countries || []).length || o.os ? h("p", { class: "muted", id: "offer-shorthands" },
        "Also, from the offer's fields: ", [(o.countries || []).length ? `countries ${o.countries.join(", ")}` : "", o.os ? `OS ${o.os}` : ""].filter(Boolean).join("; "), ".") : null),
    ctit,
    records,
    h("div", { class: "card" }, h("h2", {}, "Tracking link for an affiliate"),
      h("p", { class: "muted" }, "Affiliates see their own ready link in their portal; the pattern is:"),
      h("div", { class: "link-box" }, h("input", { readonly: true, id: "offer-link", value: `${location.origin}/click/${o.id}?aff_id={aff_id}&sub1=` }))),
    notice, h("h2", {}, "Edit the offer"), form);
  await Promise.all([recordsCard(records, o), ctitCard(ctit, { offer_id: o.id })]);
}

// ---- click to conversion time ----------------------------------------------

// ctitBuckets are GET /v2/stats/ctit's buckets, each named by its span.
const ctitBuckets = [["10s", "under 10 s"], ["1m", "10 s – 1 min"], ["10m", "1 – 10 min"], ["1h", "10 min – 1 h"],
  ["1d", "1 h – 1 day"], ["7d", "1 – 7 days"], ["more", "7 days or more"]];
const ctitLabel = Object.fromEntries(ctitBuckets);

// ctitCard draws how long conversions came after their clicks, for the
// conversions filter names ({offer_id} or {affiliate_id}): a bot's show
// in seconds, a stale claim's in weeks.
async function ctitCard(box, filter) {
  const from = h("input", { type: "date", name: "date_from", value: isoDay(-29) });
  const to = h("input", { type: "date", name: "date_to", value: isoDay(0) });
  const form = h("form", { class: "toolbar", id: "ctit-form" }, field("From", from), field("To", to),
    h("button", { type: "submit", class: "secondary" }, "Show"), h("p", { class: "error form-error" }));
  const summary = h("p", { class: "muted", id: "ctit-total" });
  const chartBox = h("div", { id: "ctit-chart" });
  const tableBox = h("div", { id: "ctit-table" });
  const next = sequence();
  async function run() {
    showErrors(form);
    const latest = next();
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    let d;
    try {
      d = await api("GET", "/v2/stats/ctit" + qs({ ...filter, date_from: from.value, date_to: to.value, timezone: zone }));
    } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    const rows = d.buckets || [];
    const rejected = rows.reduce((a, r) => a + Number(r.rejected_at_intake || 0), 0);
    summary.textContent = `${int(d.total)} conversions in the range, ${int(rejected)} of them rejected on arrival (past a cap, outside the offer's bounds, from an address not allowed).`;
    const labels = rows.map((r) => ctitLabel[r.bucket] || r.bucket);
    fill(chartBox, chart(labels, [{ name: "conversions", values: rows.map((r) => r.conversions) },
      { name: "rejected at intake", values: rows.map((r) => r.rejected_at_intake) }], { kind: "bar", title: "Time from click to conversion" }),
    chartKey(["Conversions", "Rejected on arrival"]));
    fill(tableBox, table([
      { key: "bucket", label: "After the click", fmt: (r) => ctitLabel[r.bucket] || r.bucket },
      { key: "conversions", label: "Conv.", num: true, fmt: (r) => int(r.conversions) },
      { key: "rejected_at_intake", label: "Rejected", num: true, fmt: (r) => int(r.rejected_at_intake) },
      { key: "share", label: "Share", num: true, fmt: (r) => pct(d.total ? (r.conversions * 100) / d.total : 0) },
    ], rows));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  fill(box, h("h2", {}, "Time from click to conversion"), form, summary, chartBox, tableBox);
  await run();
}

// ---- affiliates on an offer ------------------------------------------------

const accesses = ["approved", "pending", "rejected", "blocked"];

// setAccess changes only a record's access: PUT changes the fields its
// body names and keeps the others (custom payout, caps, blocked sub-IDs).
const setAccess = (offerID, affiliateID, access) =>
  api("PUT", `/v2/offers/${encodeURIComponent(offerID)}/affiliates/${encodeURIComponent(affiliateID)}`, { access });

// accessButtons are a record's Approve, Reject and Block, each disabled
// where the record already stands; done runs after a change.
function accessButtons(r, msg, done, which = ["approved", "rejected", "blocked"]) {
  const labels = { approved: "Approve", rejected: "Reject", blocked: "Block" };
  return which.map((access) => h("button", { type: "button", class: access === "approved" ? "" : access === "rejected" ? "secondary" : "danger",
    "data-access": access, disabled: r.access === access, onclick: async (e) => {
      e.currentTarget.disabled = true;
      try {
        const saved = (await setAccess(r.offer_id, r.affiliate_id, access)).offer_affiliate;
        msg.textContent = `${saved.affiliate_name || "#" + saved.affiliate_id} is now ${saved.access} on ${saved.offer_name || "#" + saved.offer_id}.`;
        msg.className = "ok";
      } catch (x) {
        msg.textContent = x.message;
        msg.className = "error";
      }
      await done();
    } }, labels[access]));
}

// recordsCard lists the affiliates' records on offer o, with their access
// (changed by a button), custom payout, caps as bars and blocked sub-IDs,
// and the form that adds or edits one.
async function recordsCard(box, o) {
  const base = `/v2/offers/${encodeURIComponent(o.id)}/affiliates`;
  const filter = h("select", { name: "access", id: "records-access", "aria-label": "Access" },
    h("option", { value: "" }, "every access"), accesses.map((a) => h("option", { value: a }, a)));
  const listBox = h("div", { id: "records-list" });
  const msg = h("p", { role: "status", id: "records-message" });
  const formBox = h("div", { id: "record-form-box" });
  // The affiliates the form offers: every one (the API's largest page).
  const everyAffiliate = api("GET", "/v2/affiliates?per_page=500").then((d) => d.affiliates || [], () => []);
  const next = sequence();
  let page = 1;
  async function load() {
    const latest = next();
    const d = await api("GET", base + qs({ access: filter.value, page, per_page: 100 }));
    if (!latest()) return;
    const rows = d.offer_affiliates || [];
    fill(listBox, table([
      { key: "affiliate_id", label: "Affiliate", fmt: (r) => entity("affiliate", r.affiliate_id, r.affiliate_name) },
      { key: "access", label: "Access", fmt: (r) => h("span", { title: accessWords[r.access] || "" }, badge(r.access)) },
      { key: "payout", label: "Payout", num: true, nowrap: true,
        fmt: (r) => (r.payout === null ? h("span", { class: "muted" }, `offer's (${money(r.payout_in_force)})`) : `${money(r.payout)} ${unitOf(o)}`) },
      { key: "caps", label: "Caps", fmt: (r) => capBars(r.caps, o.currency, "the offer's only") },
      { key: "blocked_subs", label: "Blocked sub-IDs", fmt: (r) => blockedText(r.blocked_subs) || h("span", { class: "muted" }, "none") },
      { key: "targeting", label: "Targeting", fmt: (r) => targetingText(r.targeting) || h("span", { class: "muted" }, "the offer's") },
      { key: "actions", label: "", fmt: (r) => h("div", { class: "toolbar actions" },
        accessButtons(r, msg, load),
        h("button", { type: "button", class: "secondary", "data-action": "edit", onclick: () => editRecord(r) }, "Edit"),
        h("button", { type: "button", class: "danger", "data-action": "delete", onclick: async () => {
          if (!confirm(`Delete ${r.affiliate_name || r.affiliate_id}'s record? It goes back to the offer's terms and visibility.`)) return;
          try {
            await api("DELETE", `${base}/${encodeURIComponent(r.affiliate_id)}`);
            msg.textContent = `${r.affiliate_name || "#" + r.affiliate_id}'s record deleted.`;
            msg.className = "ok";
          } catch (x) { msg.textContent = x.message; msg.className = "error"; }
          await load();
        } }, "Delete")) },
    ], rows, null, filter.value ? `No ${filter.value} affiliates.` : "No affiliate has a record on this offer yet."),
    pager(d.meta, (p) => { page = p; load(); }));
  }
  filter.addEventListener("change", () => { page = 1; load(); });
  // editRecord fills the form with r (null: a new record).
  async function editRecord(r) {
    const all = await everyAffiliate;
    const rec = r || { access: "approved", payout: null, caps: [], blocked_subs: {}, targeting: {} };
    const taken = new Set([...listBox.querySelectorAll('[data-col="affiliate_id"] a')].map((a) => a.getAttribute("href").split("/").pop()));
    const who = r
      ? h("select", { name: "affiliate_id", id: "record-affiliate", disabled: true }, h("option", { value: r.affiliate_id }, nameLabel(r.affiliate_name, r.affiliate_id)))
      : h("select", { name: "affiliate_id", id: "record-affiliate", required: true }, h("option", { value: "" }, "— choose —"),
        all.filter((a) => !taken.has(a.id)).map((a) => h("option", { value: a.id }, nameLabel(a.name, a.id))));
    const access = h("select", { name: "access", id: "record-access" }, accesses.map((a) => h("option", { value: a, selected: a === rec.access }, a)));
    const payout = h("input", { name: "payout", id: "record-payout", type: "number", step: "0.01", min: "0",
      value: amountValue(rec.payout), placeholder: `offer's (${money(o.payout)})` });
    const caps = capsEditor(rec.caps, "record");
    const blocked = blockedEditor(rec.blocked_subs);
    const targeting = targetingEditor(rec.targeting, "record");
    const form = h("form", { class: "record-form", id: "record-form" },
      h("h3", {}, r ? `Edit ${nameLabel(r.affiliate_name, r.affiliate_id)}'s record` : "Add an affiliate's record"),
      h("div", { class: "form-grid" }, field("Affiliate", who, "affiliate_id"), field("Access", access), field("Custom payout", payout)),
      caps.el, blocked.el, targeting.el,
      h("p", { class: "muted" }, "This affiliate's targeting narrows the offer's for its visitors: both apply."),
      h("p", { class: "error form-error" }),
      h("div", { class: "toolbar" }, h("button", { type: "submit", id: "record-submit" }, r ? "Save record" : "Add record"),
        h("button", { type: "button", class: "secondary", onclick: () => fill(formBox, addButton()) }, "Cancel")));
    submitter(form, () => {
      if (!who.value) throw Object.assign(new Error("Choose an affiliate."), { code: "missing_affiliate_id" });
      return api("PUT", `${base}/${encodeURIComponent(who.value)}`, {
        access: access.value, payout: payout.value === "" ? null : Number(payout.value), caps: caps.value(), blocked_subs: blocked.value(),
        targeting: targeting.value(),
      });
    }, async (saved) => {
      const rec = saved.offer_affiliate;
      msg.textContent = `${rec.affiliate_name || "#" + rec.affiliate_id}'s record saved.`;
      msg.className = "ok";
      fill(formBox, addButton());
      await load();
    });
    fill(formBox, form);
    (r ? access : who).focus();
  }
  const addButton = () => h("button", { type: "button", id: "add-record", onclick: () => editRecord(null) }, "Add an affiliate");
  fill(box, h("h2", {}, "Affiliates on this offer"),
    h("p", { class: "muted" }, "Each affiliate's access (approve, reject or block it), its own payout and caps, and the sub-IDs whose clicks the offer turns away."),
    h("div", { class: "toolbar" }, filter), msg, listBox, formBox);
  fill(formBox, addButton());
  await load();
}

// ---- conversions -----------------------------------------------------------

const statuses = ["pending", "approved", "rejected", "reversed"];

async function conversionsPage(view) {
  const f = {
    date_from: h("input", { type: "date", name: "date_from", value: isoDay(-6) }),
    date_to: h("input", { type: "date", name: "date_to", value: isoDay(0) }),
    status: h("select", { name: "status" }, h("option", { value: "" }, "any"), statuses.map((s) => h("option", { value: s }, s))),
    offer_id: h("input", { name: "offer_id", size: "8" }), affiliate_id: h("input", { name: "affiliate_id", size: "8" }),
    advertiser_id: h("input", { name: "advertiser_id", size: "8" }),
  };
  const form = h("form", { class: "toolbar", id: "conversion-filters" },
    field("From", f.date_from), field("To", f.date_to), field("Status", f.status), field("Offer", f.offer_id),
    field("Affiliate", f.affiliate_id), field("Advertiser", f.advertiser_id), h("button", { type: "submit" }, "Filter"),
    h("p", { class: "error form-error" }));
  const listBox = h("div", { id: "conversions-list" });
  let page = 1;
  const next = sequence();
  async function load() {
    showErrors(form);
    const latest = next();
    const params = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value]));
    let d;
    try {
      d = await api("GET", "/v2/conversions" + qs({ ...params, page, per_page: 50 }));
    } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    fill(listBox, table([
      { key: "created_at", label: "Time", fmt: (r) => stamp(r.created_at) },
      { key: "id", label: "Conversion" },
      { key: "offer_id", label: "Offer", fmt: (r) => entity("offer", r.offer_id, r.offer_name) },
      { key: "affiliate_id", label: "Affiliate", fmt: (r) => entity("affiliate", r.affiliate_id, r.affiliate_name) },
      { key: "country", label: "Country" }, { key: "amount", label: "Sale amount", num: true, fmt: (r) => money(r.amount) },
      { key: "revenue", label: "Revenue", num: true, fmt: (r) => money(r.revenue) },
      { key: "payout", label: "Payout", num: true, fmt: (r) => money(r.payout) },
      { key: "status", label: "Status", fmt: (r) => h("span", { title: r.reason === "cap_reached" ? "came past a cap" : null }, badge(r.status)) },
    ], d.conversions, (r) => { location.hash = "#/conversions/" + encodeURIComponent(r.id); }, "No conversions match."),
    pager(d.meta, (p) => { page = p; load(); }));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); page = 1; load(); });
  fill(view, h("h1", {}, "Conversions"), h("div", { class: "card" }, form, listBox));
  await load();
}

async function conversionPage(view, { id }) {
  const d = await api("GET", "/v2/conversions/" + encodeURIComponent(id));
  drawConversion(view, d.conversion, "");
}

// drawConversion shows c, as GET and PATCH /v2/conversions/{id} both
// answer it (one shape: a change of status is drawn from PATCH's answer,
// current at once, while the listing catches up within seconds).
function drawConversion(view, c, message) {
  const msg = h("p", { id: "conversion-message", role: "status" }, message);
  const act = (status, label, cls) => h("button", { type: "button", class: cls, id: "conversion-" + status, disabled: c.status === status, onclick: async () => {
    try {
      const r = await api("PATCH", "/v2/conversions/" + encodeURIComponent(c.id), { status });
      drawConversion(view, r.conversion, `Marked ${r.conversion.status}.`);
    } catch (x) { msg.textContent = x.message; msg.className = "error"; }
  } }, label);
  const kv = (pairs) => h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === undefined || v === "" ? "—" : v)]));
  fill(view, h("p", {}, h("a", { href: "#/conversions" }, "← Conversions")),
    h("h1", {}, "Conversion ", c.id, " ", h("span", { id: "conversion-status" }, badge(c.status))),
    h("div", { class: "toolbar" }, act("approved", "Approve"), act("rejected", "Reject", "danger"), act("reversed", "Reverse", "secondary")), msg,
    h("div", { class: "grid two" },
      h("div", { class: "card", id: "conversion-facts" }, h("h2", {}, "Conversion"), kv([["Status", c.status], ["Previous status", c.previous_status],
        ["Version", c.version], ["Created", stamp(c.created_at)], ["Updated", stamp(c.updated_at)],
        ["Offer", entity("offer", c.offer_id, c.offer_name)], ["Affiliate", entity("affiliate", c.affiliate_id, c.affiliate_name)],
        ["Advertiser", entity("advertiser", c.advertiser_id, c.advertiser_name)], ["Goal", c.goal], ["Order (txid)", c.txid],
        ["Customer", c.customer_id], ["Sale amount", `${money(c.amount)} ${c.currency || ""}`],
        ["Revenue", `${money(c.revenue)} ${c.currency || ""}, what the advertiser pays`], ["Payout", `${money(c.payout)} (${c.payout_type || ""})`],
        ...(c.reason ? [["Why rejected", c.reason === "cap_reached" ? "it came past a cap of its offer, or of its affiliate on it" : c.reason]] : [])])),
      h("div", { class: "card", id: "conversion-click" }, h("h2", {}, "Click"), kv([["Click ID", c.click_id], ["Click time", stamp(c.clicked_at)],
        ["Affiliate click ID", c.aff_click_id], ["Country", c.country], ["Device", c.device], ["OS", c.os],
        ["sub1", c.sub1], ["sub2", c.sub2], ["sub3", c.sub3], ["sub4", c.sub4], ["sub5", c.sub5]]))));
}

// ---- postbacks -------------------------------------------------------------

// logTime is a delivery's time in the log, short: "12/6, 21:01:39".
const logTime = { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };

async function postbacksPage(view) {
  const f = {
    from: h("input", { type: "date", name: "from", value: isoDay(-1) }),
    to: h("input", { type: "date", name: "to", value: isoDay(0) }),
    delivery_status: h("select", { name: "delivery_status" }, h("option", { value: "" }, "any"), h("option", { value: "success" }, "delivered"), h("option", { value: "failure" }, "failed")),
    offer: h("input", { name: "offer", size: "8" }), affiliate: h("input", { name: "affiliate", size: "8" }),
  };
  const request = (format) => {
    const filters = [];
    for (const k of ["offer", "affiliate", "delivery_status"]) {
      for (const v of f[k].value.split(/[\s,]+/).filter(Boolean)) filters.push({ resource_type: k, filter_id_value: v });
    }
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    return { timezone: zone, from: f.from.value, to: f.to.value, query: { filters }, ...(format ? { format } : {}) };
  };
  const logBox = h("div", { id: "pixel-log" });
  const form = h("form", { class: "toolbar", id: "pixel-filters" }, field("From", f.from), field("To", f.to), field("Delivery", f.delivery_status),
    field("Offer", f.offer), field("Affiliate", f.affiliate), h("button", { type: "submit" }, "Filter"),
    h("button", { type: "button", class: "secondary", id: "pixels-csv", onclick: async () => {
      try { download(await api("POST", "/v1/networks/reporting/affiliate/pixels/export", request("csv"), { raw: true }), "postbacks.csv"); } catch (x) { showErrors(form, x); }
    } }, "Export CSV"), h("p", { class: "error form-error" }));
  const next = sequence();
  async function loadLog() {
    showErrors(form);
    const latest = next();
    let d;
    try { d = await api("POST", "/v1/networks/reporting/affiliate/pixels", request()); } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    const rel = (r, k) => (r.relationship && r.relationship[k] && r.relationship[k].name) || "";
    fill(logBox, h("p", { class: "muted", id: "pixel-count" }, `${int(d.pixels.length)} deliveries`), table([
      { key: "timestamp", label: "Time", nowrap: true, fmt: (r) => new Date(r.timestamp * 1000).toLocaleString([], logTime) },
      { key: "conversion_id", label: "Conversion",
        fmt: (r) => h("a", { class: "cut", title: r.conversion_id, href: "#/conversions/" + encodeURIComponent(r.conversion_id) }, r.conversion_id) },
      { key: "pixel_type", label: "Event" },
      { key: "affiliate_id", label: "Affiliate", fmt: (r) => entity("affiliate", String(r.affiliate_id), rel(r, "affiliate")) },
      { key: "network_offer_id", label: "Offer", fmt: (r) => entity("offer", String(r.network_offer_id), rel(r, "offer")) },
      { key: "pixel_status", label: "Result", fmt: (r) => badge(r.is_success ? "delivered" : "failed") },
      { key: "failed_attempts", label: "Fails", num: true },
      { key: "pixel_id", label: "Postback", fmt: (r) => h("a", { href: "#/postbacks/pb_" + r.pixel_id }, "pb_" + r.pixel_id) },
      { key: "payload", label: "Request", clip: (r) => r.payload },
      { key: "debug_information", label: "Response", clip: (r) => r.debug_information },
    ], d.pixels, null, "No postbacks in this range."));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); loadLog(); });
  const listBox = h("div", { id: "postbacks-list" });
  const names = postbackNames();
  async function loadList(q) {
    const [d, n] = await Promise.all([api("GET", "/v2/postbacks" + qs({ q, per_page: 100 })), names]);
    fill(listBox, postbacksTable(d.postbacks, n));
  }
  fill(view, h("h1", {}, "Postbacks"),
    h("div", { class: "card" }, h("h2", {}, "Delivery log"), form, logBox),
    h("div", { class: "card" }, h("h2", {}, "Registered postbacks"), searchBar("Search postbacks by URL, ID or affiliate", loadList), listBox));
  await Promise.all([loadLog(), loadList("")]);
}

// deliveriesCard lists a postback's deliveries with every attempt: from
// the admin API (/v2/postbacks/{id}, whose answer lists them under
// "deliveries", each conversion linked to its page) or the affiliate's
// (/v1/postbacks/{id}, under "data").
export async function deliveriesCard(box, base, { list = "deliveries", conversionPage = "#/conversions/" } = {}) {
  const d = await api("GET", base + "/deliveries?per_page=50");
  const msg = h("p", { role: "status", id: "redrive-message" });
  const conversion = (id) => (conversionPage ? h("a", { href: conversionPage + encodeURIComponent(id) }, id) : id);
  const rows = (d[list] || []).map((dl) => h("div", { class: "card delivery", "data-outcome": dl.outcome },
    h("div", { class: "toolbar" }, h("strong", {}, dl.event), " ", badge(dl.outcome),
      h("span", { class: "muted" }, " conversion ", conversion(dl.conversion_id), ` · click ${dl.click_id}`),
      dl.dead_reason ? h("span", { class: "muted" }, ` · ${dl.dead_reason}`) : null,
      dl.outcome === "dead" ? h("button", { type: "button", class: "secondary", onclick: async () => {
        try {
          const r = await api("POST", base + "/redrive", { delivery_id: dl.delivery_id });
          msg.textContent = `Re-driven: ${r.redriven}; already delivered: ${r.already_delivered}.`;
        } catch (x) { msg.textContent = x.message; }
      } }, "Re-drive") : null),
    table([
      { key: "number", label: "#" }, { key: "time", label: "Time", fmt: (a) => stamp(a.time, true) },
      { key: "status_code", label: "Status", fmt: (a) => (a.status_code ? String(a.status_code) : a.error || "no answer") },
      { key: "latency_ms", label: "Latency", num: true, fmt: (a) => `${Math.round(a.latency_ms)} ms` },
      { key: "url", label: "Request", clip: (a) => "GET " + a.url },
      { key: "response_body", label: "Response", clip: (a) => a.response_body || a.error },
    ], dl.attempts, null, "No attempt logged yet.")));
  fill(box, h("h2", {}, `Deliveries (${int(d.meta && d.meta.total)})`), msg, rows.length ? rows : h("p", { class: "muted" }, "No deliveries yet."));
}

async function postbackPage(view, { id }) {
  const [d, names] = await Promise.all([api("GET", "/v2/postbacks/" + encodeURIComponent(id)), postbackNames()]);
  const p = d.postback;
  const box = h("div", { id: "deliveries" });
  fill(view, h("p", {}, h("a", { href: "#/postbacks" }, "← Postbacks")),
    h("h1", {}, "Postback ", p.postback_id, " ", badge(p.status)),
    h("div", { class: "card", id: "postback-facts" }, h("dl", { class: "kv" },
      [["Affiliate", entity("affiliate", p.affiliate_id, names.affiliate.get(p.affiliate_id))], ["Event", p.event],
        ["Offer", p.offer_id ? entity("offer", p.offer_id, names.offer.get(p.offer_id)) : "all"], ["URL", h("pre", {}, p.url)],
        ["Signed", p.signed ? "yes" : "no"], ["Created", stamp(p.created_at)],
        ["Disabled", p.disabled_at ? `${stamp(p.disabled_at)} (${p.disabled_reason})` : "—"]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    p.status === "disabled" ? h("p", {}, h("button", { type: "button", onclick: async () => {
      await api("POST", `/v2/postbacks/${encodeURIComponent(id)}/enable`);
      drawing(view, postbackPage(view, { id }));
    } }, "Enable again")) : null),
    box);
  await deliveriesCard(box, "/v2/postbacks/" + encodeURIComponent(id));
}

// ---- stats explorer --------------------------------------------------------

// dimensions are GET /v2/stats's group_by values with their column titles.
// Each row carries its keys under these names, and offer_name,
// affiliate_name, advertiser_name beside an entity's ID (README, the
// console's reads).
const dimensions = [
  ["date", "Date"], ["hour", "Hour"], ["week", "Week"], ["month", "Month"], ["offer", "Offer"], ["affiliate", "Affiliate"],
  ["advertiser", "Advertiser"], ["geo", "Country"], ["device", "Device"], ["os", "OS"],
  ["sub1", "sub1"], ["sub2", "sub2"], ["sub3", "sub3"], ["sub4", "sub4"], ["sub5", "sub5"],
];
const dimensionTitle = Object.fromEntries(dimensions);
const timeDimensions = new Set(["date", "hour", "week", "month"]);

// keyText is a row's key as a person reads it: an entity's name and ID, a
// week by its Monday, a month by its year and month, "—" for no value.
function keyText(r, d) {
  const v = r[d] ?? "";
  if (pageOf[d]) return nameLabel(r[d + "_name"], v);
  if (v === "") return "—";
  if (d === "week") return "week of " + v;
  if (d === "month") return v.slice(0, 7);
  return v;
}

// keyCell is keyText in the table, an entity linked to its page.
const keyCell = (r, d) => (pageOf[d] ? entity(d, r[d], r[d + "_name"]) : keyText(r, d));

async function statsPage(view) {
  // #/stats?offer_id=3 (an offer's Stats button) fills the filters.
  const given = new URLSearchParams(location.hash.split("?")[1] || "");
  const f = {
    date_from: h("input", { type: "date", name: "date_from", value: isoDay(-6) }),
    date_to: h("input", { type: "date", name: "date_to", value: isoDay(0) }),
    timezone: h("input", { name: "timezone", value: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC", size: "16" }),
    offer_id: h("input", { name: "offer_id", size: "8", value: given.get("offer_id") || "" }),
    affiliate_id: h("input", { name: "affiliate_id", size: "8", value: given.get("affiliate_id") || "" }),
    advertiser_id: h("input", { name: "advertiser_id", size: "8", value: given.get("advertiser_id") || "" }),
  };
  const checks = dimensions.map(([d]) => h("input", { type: "checkbox", name: "group_by", value: d, checked: d === "date" }));
  // Sub IDs are each affiliate's own values (its campaigns, ad sets,
  // creatives), so grouping by them means something for one affiliate;
  // network-wide, crossed with countries or devices, such a breakdown has
  // about a group per click and cannot answer within a page's half second.
  const subChecks = checks.filter((c) => c.value.startsWith("sub"));
  const subHint = h("p", { class: "muted", id: "stats-sub-hint" }, "Sub IDs are each affiliate's own values: enter an affiliate to group by them.");
  const syncSubs = () => {
    const one = f.affiliate_id.value.trim() !== "";
    for (const c of subChecks) {
      c.disabled = !one;
      if (!one) c.checked = false;
    }
    subHint.hidden = one;
  };
  f.affiliate_id.addEventListener("input", syncSubs);
  syncSubs();
  const csv = h("a", { class: "button secondary", id: "stats-csv", download: "stats.csv", href: "#" }, "Export CSV");
  const form = h("form", { class: "toolbar", id: "stats-form" },
    field("From", f.date_from), field("To", f.date_to), field("Time zone", f.timezone), field("Offer", f.offer_id),
    field("Affiliate", f.affiliate_id), field("Advertiser", f.advertiser_id),
    h("fieldset", { class: "toolbar" }, h("legend", {}, "Group by"), checks.map((c) => h("label", { class: "check" }, c, dimensionTitle[c.value])), subHint),
    h("button", { type: "submit" }, "Run"), csv, h("p", { class: "error form-error" }));
  const totals = h("div", { class: "tiles", id: "stats-totals" });
  const away = h("div", { class: "tiles", id: "stats-turned-away" });
  const chartBox = h("div", { class: "card", id: "stats-chart" });
  const tableBox = h("div", { class: "card", id: "stats-table" });
  const next = sequence();
  async function run() {
    showErrors(form);
    const latest = next();
    const groups = checks.filter((c) => c.checked).map((c) => c.value);
    const params = { ...Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()])), group_by: groups.join(",") };
    csv.setAttribute("href", "/v2/stats" + qs({ ...params, format: "csv" }));
    let d;
    try { d = await api("GET", "/v2/stats" + qs(params)); } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    const t = d.totals || {};
    fill(totals, tile("Clicks", int(t.clicks), "", "stats-total-clicks"), tile("Conversions", int(t.conversions), "", "stats-total-conversions"),
      tile("Sale amount", money(t.sale_amount), "", "stats-total-sale-amount"), tile("Revenue", money(t.revenue), "", "stats-total-revenue"),
      tile("Payout", money(t.payout), "", "stats-total-payout"), tile("Profit", money(t.profit), "", "stats-total-profit"),
      tile("Margin", pct(t.margin), "", "stats-total-margin"));
    fill(away, turnedAway.map(([k, label]) => tile(label, int(t[k]), t[k] ? "warn" : "", "stats-total-" + k.replace("_", "-"))));
    const rows = d.rows || [];
    const label = (r) => groups.map((g) => keyText(r, g)).join(" · ") || "All traffic";
    const timeOnly = groups.length > 0 && groups.every((g) => timeDimensions.has(g));
    const shown = rows.slice(0, timeOnly ? 1000 : 30);
    fill(chartBox, chart(shown.map(label), [{ name: "clicks", values: shown.map((r) => r.clicks) }, { name: "conversions", values: shown.map((r) => r.conversions) }],
      { kind: timeOnly ? "line" : "bar", title: "Clicks and conversions" }), chartKey(["Clicks", "Conversions"]),
    rows.length > shown.length ? h("p", { class: "muted" }, `The chart shows the first ${shown.length} of ${int(rows.length)} rows; the table has them all.`) : null);
    fill(tableBox, table([
      ...groups.map((g) => ({ key: g, label: dimensionTitle[g], fmt: (r) => keyCell(r, g) })),
      { key: "clicks", label: "Clicks", num: true, fmt: (r) => int(r.clicks) }, { key: "unique_clicks", label: "Unique", num: true, fmt: (r) => int(r.unique_clicks) },
      { key: "conversions", label: "Conv.", num: true, fmt: (r) => int(r.conversions) }, { key: "approved", label: "Approved", num: true, fmt: (r) => int(r.approved) },
      { key: "sale_amount", label: "Sale amount", num: true, fmt: (r) => money(r.sale_amount) },
      { key: "revenue", label: "Revenue", num: true, fmt: (r) => money(r.revenue) }, { key: "payout", label: "Payout", num: true, fmt: (r) => money(r.payout) },
      { key: "profit", label: "Profit", num: true, fmt: (r) => money(r.profit) }, { key: "margin", label: "Margin", num: true, fmt: (r) => pct(r.margin) },
      { key: "cvr", label: "CVR", num: true, fmt: (r) => pct(r.cvr) }, { key: "epc", label: "EPC", num: true, fmt: (r) => money(r.epc) },
      { key: "turned_away", label: "Turned away", num: true,
        fmt: (r) => h("span", { title: turnedAway.map(([k, label]) => `${label}: ${int(r[k])}`).join(", ") }, int(turnedAwayOf(r))) },
    ], rows, null, "No traffic in this range."));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  fill(view, h("h1", {}, "Stats explorer"), h("div", { class: "card" }, form), totals,
    h("p", { class: "muted tiles-title" }, "Clicks turned away (never counted in clicks):"), away, chartBox, tableBox);
  await run();
}

// ---- traffic controls ------------------------------------------------------

// lines reads a textarea's list: one entry a line (commas too for
// addresses, which have none); blank lines dropped.
const lines = (text, commas) => text.split(commas ? /[\n,]+/ : /\n+/).map((v) => v.trim()).filter(Boolean);

async function trafficControlsPage(view) {
  const d = await api("GET", "/v2/traffic-controls");
  const tc = d.traffic_controls;
  const ips = h("textarea", { name: "ips", id: "tc-ips", rows: "8", placeholder: "203.0.113.0/24\n2001:db8:bad::/48", value: tc.ips.join("\n") });
  const agents = h("textarea", { name: "user_agents", id: "tc-user-agents", rows: "8", placeholder: "BadBot\npython-requests", value: tc.user_agents.join("\n") });
  const updated = h("p", { class: "muted", id: "tc-updated" });
  const counts = () => {
    const n = lines(ips.value, true).length, m = lines(agents.value).length;
    updated.textContent = `${int(n)} ${n === 1 ? "address or range" : "addresses or ranges"}, ${int(m)} ${m === 1 ? "user agent" : "user agents"}` +
      (tc.updated_at ? ` · last changed ${stamp(tc.updated_at)} UTC` : " · never set");
  };
  counts();
  const notice = h("div");
  const form = h("form", { class: "card", id: "traffic-controls-form" }, h("h2", {}, "Block lists"),
    h("p", { class: "muted" }, "Every click is checked against these before any offer's rules: a click from a listed address, or whose user agent contains a listed text (ignoring case), is turned away as denied (to the offer's fallback URL, or a 404) and never reaches an offer."),
    h("div", { class: "grid two" },
      h("label", {}, "IP addresses and CIDR ranges, one per line (at most 20,000)", ips, h("span", { class: "field-error", "data-field": "ips" })),
      h("label", {}, "User agents containing, one per line (at most 1,000)", agents, h("span", { class: "field-error", "data-field": "user_agents" }))),
    updated, h("p", { class: "error form-error" }), h("button", { type: "submit", id: "tc-save" }, "Save"));
  submitter(form, () => api("PUT", "/v2/traffic-controls", { ips: lines(ips.value, true), user_agents: lines(agents.value) }), (r) => {
    Object.assign(tc, r.traffic_controls);
    // The lists as the API keeps them: masked, canonical, repeats dropped.
    ips.value = tc.ips.join("\n");
    agents.value = tc.user_agents.join("\n");
    counts();
    fill(notice, h("div", { class: "notice", id: "tc-saved" }, "Saved: every process applies them within a second."));
  });
  // What they turned away: /v2/stats counts it as denied, per day.
  const deniedTiles = h("div", { class: "tiles", id: "tc-denied" });
  const chartBox = h("div", { class: "card", id: "tc-denied-chart" });
  fill(view, h("h1", {}, "Traffic controls"), notice, form,
    h("h2", {}, "Clicks denied"), deniedTiles, chartBox);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const s = await api("GET", "/v2/stats" + qs({ date_from: isoDay(-6), date_to: isoDay(0), timezone: zone, group_by: "date" }));
  // Every day of the seven, a day without traffic (no row) as 0.
  const byDay = new Map((s.rows || []).map((r) => [r.date, Number(r.denied) || 0]));
  const days = [-6, -5, -4, -3, -2, -1, 0].map((i) => isoDay(i));
  const today = byDay.get(isoDay(0)) || 0;
  fill(deniedTiles, tile("Denied today", int(today), today ? "warn" : "", "tc-denied-today"),
    tile("Denied, last 7 days", int(s.totals.denied), "", "tc-denied-week"));
  fill(chartBox, chart(days, [{ name: "denied", values: days.map((d) => byDay.get(d) || 0) }], { title: "Clicks denied per day" }),
    h("p", { class: "muted" }, "Per day in your time zone; ", h("a", { href: "#/stats" }, "the stats explorer"), " has them by offer, affiliate or country."));
}

// ---- smart links -----------------------------------------------------------

// shares are each offer's share of a smart link's split by weight, in
// percent, among the offers of its priority (a higher priority is tried
// first: its offers share the visitors it takes).
function shares(offers) {
  const sum = {};
  for (const o of offers) sum[o.priority] = (sum[o.priority] || 0) + (Number(o.weight) || 0);
  return offers.map((o) => (sum[o.priority] ? ((Number(o.weight) || 0) * 100) / sum[o.priority] : 0));
}
const shareText = (p) => `${Math.round(p * 10) / 10}%`;

// modeWords say how a link splits its visitors.
const modeWords = (l) => (l.mode === "epc" ? `best EPC, ${l.explore_percent}% exploring by weight` : "by weight");

// smartLinkForm builds the create / edit form; l is the link (or {}),
// offers every offer a row may choose.
function smartLinkForm(l, offers, submitLabel) {
  const inp = (name, attrs = {}) => h("input", { name, id: "sl-" + name.replace(/_/g, "-"), ...attrs });
  const f = {
    name: inp("name", { value: l.name || "", required: true }),
    status: h("select", { name: "status", id: "sl-status" }, ["active", "paused"].map((v) => h("option", { value: v, selected: v === (l.status || "active") }, v))),
    mode: h("select", { name: "mode", id: "sl-mode" }, [["weight", "by weight"], ["epc", "best EPC of the last 24 hours"]].map(([v, label]) =>
      h("option", { value: v, selected: v === (l.mode || "weight") }, label))),
    explore_percent: inp("explore_percent", { type: "number", min: "0", max: "100", step: "1", value: l.explore_percent ?? 10 }),
    fallback_url: inp("fallback_url", { value: l.fallback_url || "", placeholder: "https://example.com/sorry?s={sub1} (empty: a 404)" }),
  };
  const syncMode = () => { f.explore_percent.disabled = f.mode.value !== "epc"; };
  f.mode.addEventListener("change", syncMode);
  syncMode();
  const rows = h("div", { class: "rule-rows", id: "sl-offer-rows" });
  const update = () => {
    const rs = [...rows.querySelectorAll(".sl-offer-row")];
    const got = shares(rs.map((r) => ({ weight: r.querySelector("[name=sl_weight]").value, priority: Number(r.querySelector("[name=sl_priority]").value) || 0 })));
    rs.forEach((r, i) => { r.querySelector(".share").textContent = shareText(got[i]); });
  };
  const addRow = (o = {}) => {
    const row = h("div", { class: "sl-offer-row" },
      h("select", { name: "sl_offer", "aria-label": "Offer" }, h("option", { value: "" }, "— choose an offer —"),
        offers.map((x) => h("option", { value: x.id, selected: x.id === o.offer_id }, nameLabel(x.name, x.id)))),
      h("label", {}, "Weight", h("input", { name: "sl_weight", type: "number", min: "1", max: "10000", step: "1", value: o.weight ?? 1, oninput: update })),
      h("label", {}, "Priority", h("input", { name: "sl_priority", type: "number", min: "0", max: "100", step: "1", value: o.priority ?? 0, oninput: update })),
      h("span", { class: "share", "aria-label": "Share" }),
      h("button", { type: "button", class: "secondary", onclick: () => { row.remove(); update(); } }, "Remove"));
    rows.append(row);
    update();
    return row;
  };
  for (const o of l.offers || []) addRow(o);
  if (!l.id) addRow();
  const form = h("form", { class: "card", id: "smart-link-form" },
    h("div", { class: "form-grid" }, field("Name", f.name), field("Status", f.status), field("Split", f.mode),
      field("Exploring (percent, EPC split)", f.explore_percent), field("Fallback URL", f.fallback_url)),
    h("fieldset", {}, h("legend", {}, "Offers"),
      h("p", { class: "muted" }, "A higher priority is tried first: its offers that can take the visitor share it by weight; the lower ones get a visitor only when none of a higher priority can take it. Share: of its priority's visitors."),
      rows, h("button", { type: "button", class: "secondary", id: "sl-add-offer", onclick: () => addRow().querySelector("select").focus() }, "Add an offer"),
      h("span", { class: "field-error", "data-field": "offers" })),
    h("p", { class: "muted" }, "Fallback URL macros: {aff_id} {sub1}…{sub5} {geo} {aff_click_id} {smart_link_id}."),
    h("p", { class: "error form-error" }), h("button", { type: "submit", id: "sl-submit" }, submitLabel));
  const body = () => ({
    name: f.name.value, status: f.status.value, mode: f.mode.value, explore_percent: Number(f.explore_percent.value || 0),
    fallback_url: f.fallback_url.value.trim(),
    offers: [...rows.querySelectorAll(".sl-offer-row")].map((r) => ({
      offer_id: r.querySelector("[name=sl_offer]").value,
      weight: Number(r.querySelector("[name=sl_weight]").value || 0), priority: Number(r.querySelector("[name=sl_priority]").value || 0),
    })),
  });
  return [form, body];
}

async function allOffers() {
  return (await api("GET", "/v2/offers?per_page=500")).offers || [];
}

async function smartLinksPage(view) {
  const offers = await allOffers();
  const [form, body] = smartLinkForm({}, offers, "Create smart link");
  const notice = h("div");
  submitter(form, () => api("POST", "/v2/smart-links", body()), (d) => {
    location.hash = "#/smart-links/" + encodeURIComponent(d.smart_link.id);
  });
  const listBox = h("div", { id: "smart-links-list" });
  const state = { q: "", page: 1 };
  async function load(st) {
    const d = await api("GET", "/v2/smart-links" + qs({ q: st.q, page: st.page, per_page: 50 }));
    fill(listBox, table([
      { key: "id", label: "ID" }, { key: "name", label: "Name" }, { key: "slug", label: "Slug" },
      { key: "mode", label: "Split", fmt: modeWords },
      { key: "offers", label: "Offers", fmt: (r) => r.offers.map((o) => o.offer_name || "#" + o.offer_id).join(", ") },
      { key: "status", label: "Status", fmt: (r) => badge(r.status) },
    ], d.smart_links, (r) => { location.hash = "#/smart-links/" + encodeURIComponent(r.id); }, "No smart links yet."),
    pager(d.meta, (p) => { st.page = p; load(st); }));
  }
  fill(view, h("h1", {}, "Smart links"),
    h("p", { class: "muted" }, "One tracking link over several offers: each visitor goes to an offer of the link that can take them (active, within its targeting, the affiliate allowed, no cap reached), else to the link's fallback URL."),
    notice, h("details", { class: "card", id: "new-smart-link" }, h("summary", {}, "New smart link"), form),
    h("div", { class: "card" }, searchBar("Search smart links by name, slug or ID", (q) => { state.q = q; state.page = 1; load(state); }), listBox));
  await load(state);
}

// smartLinkZone is the browser's time zone where the smart links' hourly
// stats can answer in it (a whole-hour offset), else UTC.
function smartLinkZone() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return new Date().getTimezoneOffset() % 60 === 0 ? zone : "UTC";
}

async function smartLinkPage(view, { id }) {
  const [d, offers] = await Promise.all([api("GET", "/v2/smart-links/" + encodeURIComponent(id)), allOffers()]);
  const l = d.smart_link;
  const [form, body] = smartLinkForm(l, offers, "Save");
  submitter(form, () => api("PATCH", "/v2/smart-links/" + encodeURIComponent(l.id), body()), () => drawing(view, smartLinkPage(view, { id })));
  const got = shares(l.offers);
  const link = `${l.url}?aff_id={aff_id}`;
  const statsBox = h("div", { class: "card", id: "sl-stats" });
  fill(view, h("p", {}, h("a", { href: "#/smart-links" }, "← Smart links")),
    h("h1", {}, l.name, " ", badge(l.status)),
    h("p", { class: "muted", id: "sl-facts" }, `ID ${l.id} · slug ${l.slug} · split ${modeWords(l)} · created ${(l.created_at || "").slice(0, 10)}`),
    h("div", { class: "card" }, h("h2", {}, "Link"),
      h("p", { class: "muted" }, "Affiliates read their own ready link in their portal; the pattern is:"),
      h("div", { class: "link-box" }, h("input", { readonly: true, id: "sl-link", value: link, "aria-label": "Smart link" }), copyButton(() => link)),
      h("dl", { class: "kv" }, [["No offer can take the visitor", l.fallback_url ? h("pre", {}, l.fallback_url) : "a 404 (no fallback URL)"]]
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
    h("div", { class: "card", id: "sl-split" }, h("h2", {}, "Split"),
      l.mode === "epc" ? h("p", { class: "muted" }, `The offer with the best EPC of the last 24 hours takes ${100 - l.explore_percent}% of the visitors; the other ${l.explore_percent}% go to the others by their shares below.`) : null,
      table([
        // An offer not active takes no visitor: its status beside it says so.
        { key: "offer_id", label: "Offer", fmt: (o) => [entity("offer", o.offer_id, o.offer_name), o.offer_status === "active" ? null : [" ", badge(o.offer_status)]] },
        { key: "priority", label: "Priority", num: true }, { key: "weight", label: "Weight", num: true },
        { key: "share", label: "Share", num: true, fmt: (o) => shareText(o.share) },
      ], l.offers.map((o, i) => ({ offer_id: o.offer_id, offer_name: o.offer_name, offer_status: o.offer_status, priority: o.priority, weight: o.weight, share: got[i] })))),
    statsBox, h("h2", {}, "Edit the smart link"), form);
  await smartLinkStats(statsBox, l);
}

// smartLinkStats shows what each offer of the link took, and what went
// unrouted (no offer: the fallback), from /v2/stats by smart link.
async function smartLinkStats(box, l) {
  const from = h("input", { type: "date", name: "date_from", value: isoDay(-6) });
  const to = h("input", { type: "date", name: "date_to", value: isoDay(0) });
  const form = h("form", { class: "toolbar", id: "sl-stats-form" }, field("From", from), field("To", to),
    h("button", { type: "submit", class: "secondary" }, "Show"), h("p", { class: "error form-error" }));
  const totals = h("div", { class: "tiles", id: "sl-totals" });
  const chartBox = h("div", { id: "sl-chart" });
  const tableBox = h("div", { id: "sl-table" });
  const next = sequence();
  async function run() {
    showErrors(form);
    const latest = next();
    let d;
    try {
      d = await api("GET", "/v2/stats" + qs({ date_from: from.value, date_to: to.value, timezone: smartLinkZone(), group_by: "offer", smart_link_id: l.id }));
    } catch (x) { if (latest()) showErrors(form, x); return; }
    if (!latest()) return;
    const t = d.totals;
    fill(totals, tile("Clicks", int(t.clicks), "", "sl-total-clicks"), tile("Conversions", int(t.conversions), "", "sl-total-conversions"),
      tile("Revenue", money(t.revenue), "", "sl-total-revenue"), tile("Unrouted", int(t.unrouted), t.unrouted ? "warn" : "", "sl-total-unrouted"),
      tile("Paused", int(t.paused), t.paused ? "warn" : "", "sl-total-paused"), tile("Denied", int(t.denied), t.denied ? "warn" : "", "sl-total-denied"));
    // An unrouted or paused visitor has no offer: its row's is empty.
    const rows = d.rows || [];
    const label = (r) => (r.offer ? nameLabel(r.offer_name, r.offer) : "no offer (fallback)");
    // Unrouted, paused and denied visitors reached no offer: the row
    // without one counts them, as turned away (its title says why).
    // Unrouted beside clicks: they are no offer's, and never in clicks.
    fill(chartBox, chart(rows.map(label), [{ name: "clicks", values: rows.map((r) => r.clicks) }, { name: "conversions", values: rows.map((r) => r.conversions) },
      { name: "unrouted", values: rows.map((r) => r.unrouted) }], { kind: "bar", title: "Clicks, conversions and unrouted visitors by offer" }),
    chartKey(["Clicks", "Conversions", "Unrouted"]));
    fill(tableBox, table([
      { key: "offer", label: "Offer", fmt: (r) => (r.offer ? entity("offer", r.offer, r.offer_name) : h("span", { class: "muted" }, "no offer (fallback)")) },
      { key: "clicks", label: "Clicks", num: true, fmt: (r) => int(r.clicks) },
      // Revenue is in the tiles, and by offer in the stats explorer: the
      // table keeps to what fits a phone.
      { key: "share", label: "Share", num: true, fmt: (r) => shareText(t.clicks ? (r.clicks * 100) / t.clicks : 0) },
      { key: "conversions", label: "Conv.", num: true, fmt: (r) => int(r.conversions) },
      { key: "turned_away", label: "Turned away", num: true,
        fmt: (r) => h("span", { title: turnedAway.map(([k, name]) => `${name}: ${int(r[k])}`).join(", ") }, int(turnedAwayOf(r))) },
    ], rows, null, "No traffic through this link in the range."),
    h("p", { class: "muted" }, "Revenue and payout by offer, and every other figure: ", h("a", { href: "#/stats" }, "the stats explorer"), "."));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  fill(box, h("h2", {}, "Traffic through the link"), form, totals, chartBox, tableBox);
  await run();
}

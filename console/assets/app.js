// The console's shell: the session, the hash router, the navigation and
// the sign-in page. Pages live in admin.js and affiliate.js.
import { h, fill } from "./dom.js";
import { api, session, ApiError } from "./api.js";
import { leave, drawing } from "./page.js";
import { adminRoutes, adminNav } from "./admin.js";
import { affiliateRoutes, affiliateNav } from "./affiliate.js";

const view = document.getElementById("view");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

async function loadSession() {
  try {
    const s = await api("GET", "/console/session");
    Object.assign(session, { kind: s.kind, id: s.id, name: s.name, csrf: s.csrf_token });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    Object.assign(session, { kind: "", id: "", name: "", csrf: "" });
  }
}

function drawChrome() {
  const items = session.kind === "admin" ? adminNav : session.kind === "affiliate" ? affiliateNav : [];
  fill(nav, items.map(([href, label]) => h("a", { href, "data-nav": href }, label)));
  if (!session.kind) { fill(who); return; }
  fill(who,
    h("span", { id: "who-name" }, session.name + (session.kind === "affiliate" ? ` (#${session.id})` : "")),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"));
}

async function signOut() {
  await api("DELETE", "/console/session");
  Object.assign(session, { kind: "", id: "", name: "", csrf: "" });
  drawChrome();
  location.hash = "#/signin";
}

function signInPage() {
  const key = h("input", { type: "password", id: "signin-key", name: "key", autocomplete: "current-password", required: true });
  const err = h("p", { class: "error", id: "signin-error", role: "alert" });
  const form = h("form", { class: "card signin", id: "signin-form" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Network admins sign in with the admin key (CLICKRELAY_ADMIN_KEY); affiliates with their API key."),
    h("label", {}, "API key", key),
    err,
    h("p", {}, h("button", { type: "submit", id: "signin-submit" }, "Sign in")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      const s = await api("POST", "/console/session", { key: key.value });
      Object.assign(session, { kind: s.kind, id: s.id, name: s.name, csrf: s.csrf_token });
      drawChrome();
      location.hash = home();
    } catch (x) {
      err.textContent = x.message;
    }
  });
  fill(view, form);
  key.focus();
}

function home() { return session.kind === "admin" ? "#/overview" : "#/a/offers"; }

// route finds the page for the hash: "#/offers/12" → the "offers/:id" page.
function match(routes, path) {
  for (const [pattern, page] of Object.entries(routes)) {
    const want = pattern.split("/"), got = path.split("/");
    if (want.length !== got.length) continue;
    const params = {};
    if (want.every((w, i) => (w.startsWith(":") ? ((params[w.slice(1)] = decodeURIComponent(got[i])), got[i] !== "") : w === got[i]))) {
      return [page, params];
    }
  }
  return [null, {}];
}

async function render() {
  leave();
  nav.classList.remove("open");
  const path = location.hash.replace(/^#\/?/, "").split("?")[0];
  if (path === "signin" || !session.kind) {
    if (path !== "signin") { location.replace("#/signin"); return; }
    signInPage();
    return;
  }
  const routes = session.kind === "admin" ? adminRoutes : affiliateRoutes;
  const [page, params] = match(routes, path);
  if (!page) { location.replace(home()); return; }
  for (const a of nav.querySelectorAll("a")) {
    const section = a.getAttribute("href").slice(2); // "offers", "a/offers"
    a.classList.toggle("active", path === section || path.startsWith(section + "/"));
  }
  fill(view, h("p", { class: "muted" }, "Loading…"));
  try {
    await drawing(view, page(view, params));
  } catch (e) {
    if (e instanceof ApiError) {
      fill(view, h("div", { class: "card", id: "page-error" },
        h("h1", {}, e.status === 404 ? "Not found" : "Something went wrong"),
        h("p", {}, e.status === 404 ? "There is nothing here, or it is not yours to see." : e.message)));
      return;
    }
    throw e;
  }
}

document.getElementById("menu-toggle").addEventListener("click", (e) => {
  const open = nav.classList.toggle("open");
  e.currentTarget.setAttribute("aria-expanded", String(open));
});

window.addEventListener("hashchange", render);
await loadSession();
drawChrome();
if (!location.hash || location.hash === "#/") location.replace(session.kind ? home() : "#/signin");
render();

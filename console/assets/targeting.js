// Targeting (who may see an offer, or see it through one affiliate) as
// the console shows and edits it: the rules in words, and an editor whose
// value is the API's Targeting object (README, "Targeting and traffic
// controls"). The same editor serves an offer and an affiliate's record.
import { h } from "./dom.js";

export const deviceTypes = [["desktop", "desktop"], ["mobile", "mobile"], ["tablet", "tablet"]];
export const osNames = [["android", "Android"], ["ios", "iOS"], ["windows", "Windows"], ["macos", "macOS"], ["linux", "Linux"],
  ["chromeos", "ChromeOS"], ["other", "other"]];
export const browserNames = [["chrome", "Chrome"], ["safari", "Safari"], ["firefox", "Firefox"], ["edge", "Edge"], ["opera", "Opera"],
  ["samsung", "Samsung Internet"], ["ie", "Internet Explorer"], ["vivaldi", "Vivaldi"], ["yandex", "Yandex"], ["uc", "UC Browser"],
  ["miui", "MIUI"], ["huawei", "Huawei"], ["android_browser", "Android browser"], ["facebook", "Facebook in-app"],
  ["instagram", "Instagram in-app"], ["tiktok", "TikTok in-app"], ["other", "other"]];
// dayNames are the schedule's days in the API's order (Sunday first).
export const dayNames = [["sun", "Sun"], ["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"]];
// A range of versions names an OS that has versions: not "other".
const versionOS = osNames.filter(([v]) => v !== "other");

// The kinds of list rule, in the order the words and the editor show them.
const listKinds = [
  { key: "countries", title: "Countries", text: true, hint: "ISO codes: US, CA" },
  { key: "devices", title: "Devices", choices: deviceTypes },
  { key: "os", title: "OS", choices: osNames },
  { key: "browsers", title: "Browsers", choices: browserNames },
  { key: "languages", title: "Languages", text: true, hint: "pt, en-GB" },
  { key: "ips", title: "IP ranges", text: true, hint: "203.0.113.0/24, 2001:db8::/32" },
];
const titleOf = Object.fromEntries(listKinds.map((k) => [k.key, Object.fromEntries(k.choices || [])]));

const listed = (a) => Array.isArray(a) && a.length > 0;

// listWords is a list rule in words: "only mobile, tablet; not PR".
function listWords(rule, kind) {
  const name = (v) => titleOf[kind][v] || v;
  const parts = [];
  if (listed(rule && rule.include)) parts.push("only " + rule.include.map(name).join(", "));
  if (listed(rule && rule.exclude)) parts.push("not " + rule.exclude.map(name).join(", "));
  return parts.join("; ");
}

// rangeWords is an OS version range: "Android 10 to 14", "iOS 16 or later".
function rangeWords(r) {
  const os = titleOf.os[r.os] || r.os;
  if (r.min && r.max) return `${os} ${r.min} to ${r.max}`;
  if (r.min) return `${os} ${r.min} or later`;
  if (r.max) return `${os} up to ${r.max}`;
  return `${os}, any version`;
}

// runs compresses sorted whole numbers into [first, last] runs.
function runs(numbers) {
  const out = [];
  for (const n of [...new Set(numbers)].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n; else out.push([n, n]);
  }
  return out;
}

// hoursText is a window's hours as the editor takes them: "9-17, 20".
const hoursText = (hours) => runs(hours || []).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(", ");

// windowWords is a schedule window: "Mon–Fri 9:00–17:59", "every day 22:00–22:59".
function windowWords(w) {
  const order = dayNames.map(([d]) => d);
  const days = (w.days || []).map((d) => order.indexOf(d)).filter((i) => i >= 0);
  const dayText = days.length === 0 || new Set(days).size === 7 ? "every day"
    : runs(days).map(([a, b]) => (a === b ? dayNames[a][1] : `${dayNames[a][1]}${b === a + 1 ? ", " : "–"}${dayNames[b][1]}`)).join(", ");
  const hours = w.hours || [];
  const hourText = hours.length === 0 || new Set(hours).size === 24 ? "all day"
    : runs(hours).map(([a, b]) => `${a}:00–${b}:59`).join(", ");
  return `${dayText} ${hourText}`;
}

// targetingWords lists a Targeting's rules as [kind, words] pairs, the
// kinds it has only: [] for none.
export function targetingWords(t) {
  if (!t) return [];
  const out = [];
  for (const k of listKinds) {
    const words = listWords(t[k.key], k.key);
    if (words) out.push([k.title, words]);
    if (k.key === "os") {
      const v = t.os_versions || {};
      const parts = [];
      if (listed(v.include)) parts.push("only " + v.include.map(rangeWords).join(", "));
      if (listed(v.exclude)) parts.push("not " + v.exclude.map(rangeWords).join(", "));
      if (parts.length) out.push(["OS versions", parts.join("; ")]);
    }
  }
  if (listed(t.schedule)) out.push(["Schedule", t.schedule.map(windowWords).join("; ") + " (the network's time zone)"]);
  return out;
}

// targetingText is targetingWords on one line, for a table's cell.
export const targetingText = (t) => targetingWords(t).map(([k, v]) => `${k}: ${v}`).join(" · ");

// targetingList shows targetingWords as a list, or says there are none.
export function targetingList(t, none) {
  const words = targetingWords(t);
  if (words.length === 0) return h("p", { class: "muted" }, none);
  return h("dl", { class: "kv" }, words.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

const splitList = (text) => text.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);

// parseHours reads "9-17, 20" as the hours 9 to 17 and 20; a token that
// is no hour throws, named as the API names its targeting errors.
function parseHours(text) {
  const out = [];
  for (const tok of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d{1,2})(?:[-–](\d{1,2}))?$/.exec(tok);
    const a = m && Number(m[1]), b = m && Number(m[2] ?? m[1]);
    if (!m || a > 23 || b > 23 || b < a) {
      throw Object.assign(new Error(`Schedule hours: "${tok}" is not an hour or a range of hours such as 9-17 (0 to 23).`), { code: "invalid_targeting" });
    }
    for (let hr = a; hr <= b; hr++) out.push(hr);
  }
  return out;
}

// targetingEditor edits a Targeting: include and exclude per kind (codes
// typed in, or boxes ticked for a fixed vocabulary), rows of OS version
// ranges and of schedule windows. Its value is the object the API takes,
// kinds left empty omitted ({} for none).
export function targetingEditor(t, idPrefix) {
  t = t || {};
  const id = (...parts) => [idPrefix, "targeting", ...parts].join("-");
  const reads = [];
  const ruleRow = (k) => {
    const rule = t[k.key] || {};
    const side = (which, label) => {
      if (k.text) {
        const input = h("input", { name: `${k.key}_${which}`, id: id(k.key.replace(/_/g, "-"), which), value: (rule[which] || []).join(", "),
          placeholder: k.hint, "aria-label": `${k.title}: ${label}` });
        return [h("label", {}, label, input), () => splitList(input.value)];
      }
      const boxes = k.choices.map(([v, title]) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: `${k.key}_${which}`, value: v, checked: (rule[which] || []).includes(v) }), title));
      const group = h("div", { class: "choices", role: "group", "aria-label": `${k.title}: ${label}`, id: id(k.key, which) },
        h("span", { class: "choice-side" }, label), boxes);
      return [group, () => boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value)];
    };
    const [inc, incValue] = side("include", "Only");
    const [exc, excValue] = side("exclude", "Not");
    reads.push([k.key, () => ({ include: incValue(), exclude: excValue() })]);
    return h("div", { class: "rule" + (k.text ? "" : " choices-rule"), "data-kind": k.key }, h("span", { class: "rule-name" }, k.title), inc, exc);
  };

  const versionRows = h("div", { class: "rule-rows", id: id("version-rows") });
  const addVersion = (r = {}, which = "include") => {
    const row = h("div", { class: "version-row" },
      h("select", { name: "version_side", "aria-label": "Only or not" },
        [["include", "only"], ["exclude", "not"]].map(([v, label]) => h("option", { value: v, selected: v === which }, label))),
      h("select", { name: "version_os", "aria-label": "OS" }, versionOS.map(([v, label]) => h("option", { value: v, selected: v === (r.os || "android") }, label))),
      h("input", { name: "version_min", value: r.min || "", placeholder: "from (any)", size: "7", "aria-label": "From version" }),
      h("input", { name: "version_max", value: r.max || "", placeholder: "to (any)", size: "7", "aria-label": "To version" }),
      h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, "Remove"));
    versionRows.append(row);
    return row;
  };
  for (const which of ["include", "exclude"]) for (const r of (t.os_versions && t.os_versions[which]) || []) addVersion(r, which);

  const windowRows = h("div", { class: "rule-rows", id: id("window-rows") });
  const addWindow = (w = {}) => {
    const row = h("div", { class: "window-row" },
      h("span", { class: "choices", role: "group", "aria-label": "Days" }, dayNames.map(([d, label]) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", name: "window_day", value: d, checked: (w.days || []).includes(d) }), label))),
      h("input", { name: "window_hours", value: hoursText(w.hours), placeholder: "hours: all day, or 9-17, 20", size: "18", "aria-label": "Hours" }),
      h("button", { type: "button", class: "secondary", onclick: () => row.remove() }, "Remove"));
    windowRows.append(row);
    return row;
  };
  for (const w of t.schedule || []) addWindow(w);

  const el = h("fieldset", { class: "targeting-editor", id: id("editor") }, h("legend", {}, "Targeting"),
    h("p", { class: "muted" }, "Who may see it: a visitor must pass every kind filled in, matching one value of Only (when there is one) and none of Not, which wins. Empty: anyone."),
    listKinds.flatMap((k) => [ruleRow(k), k.key === "os" ? h("div", { class: "rule", "data-kind": "os_versions" },
      h("span", { class: "rule-name" }, "OS versions"),
      h("div", {}, versionRows, h("button", { type: "button", class: "secondary", id: id("add-version"),
        onclick: () => addVersion().querySelector("input").focus() }, "Add a version range"))) : null]),
    h("div", { class: "rule", "data-kind": "schedule" }, h("span", { class: "rule-name" }, "Schedule"),
      h("div", {}, h("p", { class: "muted" }, "Runs only in these windows, in the network's time zone; no day ticked is every day."),
        windowRows, h("button", { type: "button", class: "secondary", id: id("add-window"),
          onclick: () => addWindow().querySelector("input[name=window_hours]").focus() }, "Add a window"))),
    h("span", { class: "field-error", "data-field": "targeting" }));

  const value = () => {
    const out = {};
    const clean = (r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v.length > 0));
    for (const [key, read] of reads) {
      const r = clean(read());
      if (Object.keys(r).length) out[key] = r;
      if (key === "os") {
        const v = { include: [], exclude: [] };
        for (const row of versionRows.querySelectorAll(".version-row")) {
          const range = { os: row.querySelector("[name=version_os]").value };
          const min = row.querySelector("[name=version_min]").value.trim(), max = row.querySelector("[name=version_max]").value.trim();
          if (min) range.min = min;
          if (max) range.max = max;
          v[row.querySelector("[name=version_side]").value].push(range);
        }
        const cv = clean(v);
        if (Object.keys(cv).length) out.os_versions = cv;
      }
    }
    const schedule = [...windowRows.querySelectorAll(".window-row")].map((row) => {
      const w = {};
      const days = [...row.querySelectorAll("[name=window_day]")].filter((i) => i.checked).map((i) => i.value);
      const hours = parseHours(row.querySelector("[name=window_hours]").value);
      if (days.length) w.days = days;
      if (hours.length) w.hours = hours;
      return w;
    });
    if (schedule.length) out.schedule = schedule;
    return out;
  };
  // reset empties the rows a form's reset() leaves (its fields it resets).
  const reset = () => { versionRows.replaceChildren(); windowRows.replaceChildren(); };
  return { el, value, reset };
}

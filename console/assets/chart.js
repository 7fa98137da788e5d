// A small SVG chart: lines (a time series) or bars (a breakdown), one
// y scale, gridlines, a few x labels, a <title> on every point. Drawn with
// createElementNS, so no inline style and nothing parsed as markup.
import { s, h } from "./dom.js";

// The drawing's size in its own units; a narrow screen gets a narrower
// drawing, so that its text stays readable once scaled to fit.
let W = 800;
const H = 240, L = 56, R = 12, T = 12, B = 28;
// CHAR_W is about an axis label's character width (11px text), and
// MIN_LABEL the narrowest room a bar's label gets, in drawing units.
const CHAR_W = 6.5, MIN_LABEL = 70;

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function short(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M";
  if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + "k";
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

// chart draws series [{name, values}] over labels; kind "line" or "bar".
// The svg carries data-sum-<name> for each series (what a test, or a
// screen reader's summary, reads).
export function chart(labels, series, { kind = "line", title = "" } = {}) {
  W = window.innerWidth < 600 ? 420 : 800;
  const n = labels.length;
  const max = niceMax(Math.max(0, ...series.flatMap((x) => x.values.map(Number))));
  const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title || "chart" });
  for (const sr of series) {
    svg.setAttribute("data-sum-" + sr.name.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
      String(sr.values.reduce((a, v) => a + Number(v || 0), 0)));
  }
  svg.setAttribute("data-points", String(n));
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, short(v)));
  }
  // A bar chart labels every bar that has room for a label (each label
  // cut to its bar's width, its whole text in its title); a line chart a
  // few points along its axis.
  const slot = (W - L - R) / Math.max(1, n);
  const every = kind === "bar" ? Math.max(1, Math.ceil(MIN_LABEL / slot)) : Math.max(1, Math.ceil(n / (W < 600 ? 3 : 6)));
  const room = kind === "bar" ? Math.max(4, Math.floor((slot * every) / CHAR_W)) : 16;
  labels.forEach((lab, i) => {
    if (i % every === 0 || kind !== "bar" && i === n - 1 && n < 6) {
      const bx = kind === "bar" ? barX(i, n) + barW(n) / 2 : x(i);
      const text = String(lab);
      svg.append(s("text", { x: bx, y: H - 8, "text-anchor": "middle", class: "x-label" },
        text.length > room ? text.slice(0, room - 1) + "…" : text, s("title", {}, text)));
    }
  });
  if (n === 0) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No data in this range yet"));
    return svg;
  }
  series.forEach((sr, k) => {
    const cls = "s" + (k % 5);
    if (kind === "bar") {
      const w = barW(n) / series.length;
      sr.values.forEach((v, i) => {
        const top = y(Number(v) || 0);
        svg.append(s("rect", { class: cls, x: barX(i, n) + k * w, y: top, width: Math.max(1, w - 1), height: H - B - top },
          s("title", {}, `${labels[i]} · ${sr.name}: ${v}`)));
      });
      return;
    }
    const pts = sr.values.map((v, i) => `${x(i).toFixed(1)},${y(Number(v) || 0).toFixed(1)}`);
    if (series.length === 1) {
      svg.append(s("path", { class: "area " + cls, d: `M${x(0)},${y(0)} L${pts.join(" L")} L${x(n - 1)},${y(0)} Z` }));
    }
    svg.append(s("polyline", { class: "line " + cls, points: pts.join(" ") }));
    sr.values.forEach((v, i) => {
      if (Number(v) > 0 && n <= 400) {
        svg.append(s("circle", { class: cls, cx: x(i), cy: y(Number(v)), r: n > 60 ? 1.5 : 3 },
          s("title", {}, `${labels[i]} · ${sr.name}: ${v}`)));
      }
    });
  });
  return svg;
}

function barW(n) { return Math.max(2, ((W - L - R) / n) * 0.8); }
function barX(i, n) { return L + ((W - L - R) / n) * i + ((W - L - R) / n) * 0.1; }

// chartKey names a chart's series by their colours, in chart's order.
export function chartKey(labels) {
  return h("p", { class: "chart-key" }, labels.map((label, k) => h("span", {}, h("span", { class: "swatch s" + (k % 5) }), label)));
}

// Money per hour of the tenant's day as inline SVG: today's bars against last week's line
// for the same hours. Drawn from exact decimal strings; only the bar heights are scaled.
import { formatMoney } from "../../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 960;
const H = 230;
const PAD = { left: 8, right: 8, top: 16, bottom: 28 };

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The currency the chart shows: the one with most money today, else the first with a target.
// The currency the board leads with: amounts in two currencies do not compare (¥100,000 is
// less than $1,000), so one with a daily target set, then the one most payments came in,
// then the first by code.
export function mainCurrency(figures) {
  const rank = (c) => [c.target ? 0 : 1, -c.count, c.currency];
  const order = (a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]);
  };
  const best = [...figures.collected].sort(order)[0];
  return best?.currency ?? figures.by_hour[0]?.currency ?? null;
}

export function hourlyChart(figures, currency, nowHour) {
  const hours = figures.by_hour.filter((h) => h.currency === currency);
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "hour-chart", role: "img",
    "aria-label": `Collected per hour today against the same hours last week (${currency ?? "none"})`,
  });
  if (!hours.length) return svg;
  const top = Math.max(1, ...hours.flatMap((h) => [Number(h.today), Number(h.last_week)]));
  const slot = (W - PAD.left - PAD.right) / 24;
  const y = (value) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - Number(value) / top);
  const base = H - PAD.bottom;
  svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: base, y2: base, class: "axis" }));
  for (const h of hours) {
    const x = PAD.left + h.hour * slot;
    const bar = el("rect", {
      x: x + slot * 0.15, width: slot * 0.7, y: y(h.today), height: Math.max(0, base - y(h.today)),
      class: h.hour === nowHour ? "bar now" : "bar", "data-hour": h.hour, "data-amount": h.today,
    });
    bar.append(el("title", {}, `${String(h.hour).padStart(2, "0")}:00 — ${formatMoney(h.today, currency)} today, ${formatMoney(h.last_week, currency)} last week`));
    svg.append(bar);
    if (h.hour % 3 === 0) {
      svg.append(el("text", { x: x + slot / 2, y: H - 8, class: "tick" }, `${String(h.hour).padStart(2, "0")}`));
    }
  }
  const points = hours.map((h) => `${PAD.left + h.hour * slot + slot / 2},${y(h.last_week)}`);
  svg.append(el("polyline", { points: points.join(" "), class: "last-week" }));
  return svg;
}

// A bar chart as inline SVG: categories along the bottom, one bar per series in each, a
// scale on the left. Series differ by fill and pattern, and the legend names them, so no
// series is told by colour alone; each bar carries its figure as a tooltip. The table
// under every chart holds the exact figures.
const SVG = "http://www.w3.org/2000/svg";
const LEFT = 56, RIGHT = 8, TOP = 12, BOTTOM = 44;
// Drawn for the screen it opens on: as wide as it shows, with fewer labels on a phone.
const narrow = () => matchMedia("(max-width: 600px)").matches;

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// The scale: four steps of 1, 2, 2.5 or 5 times a power of ten, reaching at least `max`.
function scaleTop(max) {
  if (!(max > 0)) return 4;
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((x) => x >= raw);
  return step * 4;
}

// At most eight labels along the bottom (four on a phone), each cut to fit its place.
const cut = (text, room) => (text.length > room ? `${text.slice(0, room - 1)}…` : text);

const short = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

// series: [{ name, values: [number], style: "a" | "b" | "c" | "d" }]; format: the tooltip's.
export function barChart({ title, categories, series, format = (v) => short.format(v), unit = "" }) {
  const small = narrow();
  // About as wide as it will show, so that its text keeps the page's size.
  const room = (document.querySelector("#screen")?.clientWidth || 800) - (small ? 64 : 100);
  const W = Math.max(300, Math.min(1240, room)), H = small ? 240 : 280;
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const top = scaleTop(Math.max(0, ...series.flatMap((x) => x.values)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", "aria-label": title });
  svg.append(s("title", {}, title));
  const defs = s("defs");
  const hatch = s("pattern", { id: `hatch-${title.replace(/\W+/g, "-")}`, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
    s("rect", { width: 6, height: 6, class: "bar-b-bg" }), s("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "bar-b-line" }));
  defs.append(hatch);
  svg.append(defs);
  for (let i = 0; i <= 4; i++) {
    const y = TOP + plotH - (plotH * i) / 4;
    svg.append(s("line", { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: i ? "grid" : "axis" }));
    svg.append(s("text", { x: LEFT - 6, y: y + 4, class: "tick", "text-anchor": "end" }, `${short.format((top * i) / 4)}${unit}`));
  }
  const band = plotW / Math.max(1, categories.length);
  const barW = Math.max(2, Math.min(36, (band * 0.8) / Math.max(1, series.length)));
  const every = Math.ceil(categories.length / (small ? 4 : 8));
  categories.forEach((category, c) => {
    const groupX = LEFT + band * c + (band - barW * series.length) / 2;
    series.forEach((x, n) => {
      const value = x.values[c] || 0;
      const height = (plotH * value) / top;
      const fill = x.style === "b" ? { fill: `url(#${hatch.id})` } : {};
      svg.append(s("rect", { x: groupX + barW * n, y: TOP + plotH - height, width: barW - 1, height: Math.max(0, height), class: `bar bar-${x.style}`, ...fill },
        s("title", {}, `${category} · ${x.name}: ${format(value)}`)));
    });
    if (c % every === 0) {
      svg.append(s("text", { x: LEFT + band * c + band / 2, y: H - BOTTOM + 20, class: "tick", "text-anchor": "middle" }, cut(category, Math.max(4, Math.floor((band * every) / 7)))));
    }
  });
  const legend = document.createElement("ul");
  legend.className = "chart-legend";
  for (const x of series) {
    const item = document.createElement("li");
    const key = document.createElement("span");
    key.className = `key bar-${x.style}`;
    item.append(key, x.name);
    legend.append(item);
  }
  const figure = document.createElement("figure");
  figure.className = "chart-figure";
  figure.append(svg, legend);
  return figure;
}

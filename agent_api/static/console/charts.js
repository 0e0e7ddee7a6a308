// Small SVG charts without a library: horizontal bars for splits, columns for series.
// Text is drawn by the page (HTML labels), so it follows the page's direction and font.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function empty() {
  const note = document.createElement("p");
  note.className = "empty";
  note.textContent = "—";
  return note;
}

// One bar per item: [{label, value}]; the value printed with `format`.
export function barChart(items, format) {
  if (!items.length) return empty();
  const highest = Math.max(1, ...items.map((item) => item.value));
  const list = document.createElement("ul");
  list.className = "bars";
  for (const item of items) {
    const row = document.createElement("li");
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = item.label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.inlineSize = `${(100 * item.value) / highest}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = format(item.value);
    row.append(label, track, value);
    list.append(row);
  }
  return list;
}

// Columns over time: [{label, value}]; an optional horizontal line (e.g. capacity per hour).
export function columnChart(items, { format, line = null, lineLabel = "" }) {
  if (!items.length) return empty();
  const width = 600;
  const height = 180;
  const top = Math.max(1, line || 0, ...items.map((item) => item.value)) * 1.1;
  const step = width / items.length;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height + 20}`,
    role: "img",
    class: "columns-chart",
    preserveAspectRatio: "none",
  });
  const title = svg("title", {});
  title.textContent = items.map((item) => `${item.label}: ${format(item.value)}`).join(", ");
  chart.append(title);
  items.forEach((item, index) => {
    const barHeight = (height * item.value) / top;
    const bar = svg("rect", {
      x: index * step + step * 0.15,
      y: height - barHeight,
      width: step * 0.7,
      height: barHeight,
      class: "column",
    });
    const tip = svg("title", {});
    tip.textContent = `${item.label}: ${format(item.value)}`;
    bar.append(tip);
    chart.append(bar);
  });
  if (line) {
    const y = height - (height * line) / top;
    chart.append(svg("line", { x1: 0, x2: width, y1: y, y2: y, class: "capacity" }));
  }
  chart.append(svg("line", { x1: 0, x2: width, y1: height, y2: height, class: "axis" }));
  const figure = document.createElement("div");
  figure.className = "column-wrap";
  figure.dir = "ltr"; // time runs left to right in both languages, like the exported tables
  figure.append(chart);
  const legend = document.createElement("p");
  legend.className = "legend";
  const first = items[0].label;
  const last = items[items.length - 1].label;
  legend.textContent = `${first} … ${last}${line ? ` · ${lineLabel} ${format(line)}` : ""}`;
  figure.append(legend);
  return figure;
}

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

// The top of the value axis: 1, 2 or 4 times a power of ten, above the highest value, so
// the axis reads in round numbers (its middle too).
function niceTop(highest) {
  const above = Math.max(2, highest * 1.1);
  const power = 10 ** Math.floor(Math.log10(above));
  return [1, 2, 4, 10].map((step) => step * power).find((value) => value >= above);
}

function text(x, y, content, className) {
  const label = svg("text", { x, y, class: className, "text-anchor": "middle" });
  label.textContent = content;
  return label;
}

function element(tag, className, content = "") {
  const found = document.createElement(tag);
  found.className = className;
  found.textContent = content;
  return found;
}

// The value axis: the top of the scale, its middle and zero, beside the plot.
function valueAxis(top, format) {
  const axis = element("div", "y-axis");
  axis.setAttribute("aria-hidden", "true");
  for (const value of [top, top / 2, 0]) axis.append(element("span", "", format(value)));
  return axis;
}

// The time axis under the plot: at most about eight labels, evenly spread.
function timeAxis(items) {
  const axis = element("ol", "x-axis");
  axis.setAttribute("aria-hidden", "true");
  axis.style.gridTemplateColumns = `repeat(${items.length}, 1fr)`;
  const every = Math.max(1, Math.ceil(items.length / 8));
  items.forEach((item, index) => axis.append(element("li", "", index % every === 0 ? item.label : "")));
  return axis;
}

function columns(chart, items, top, height, format) {
  const step = 600 / items.length;
  items.forEach((item, index) => {
    const barHeight = (height * item.value) / top;
    const x = index * step + step * 0.15;
    const bar = svg("rect", { x, y: height - barHeight, width: step * 0.7, height: barHeight, class: "column" });
    const tip = svg("title", {});
    tip.textContent = `${item.label}: ${format(item.value)}`;
    bar.append(tip);
    chart.append(bar);
    // Each value written over its column (small charts: a value of 0 is left unwritten).
    if (item.value && items.length <= 31) {
      chart.append(text(x + step * 0.35, height - barHeight - 4, format(item.value), "value"));
    }
  });
}

// Columns over time: [{label, value}], with a value axis, a time axis and each column's value;
// an optional horizontal line (e.g. capacity per hour). Time runs left to right in both
// languages (like the exported tables); the legend reads in the page's direction.
export function columnChart(items, { format, line = null, lineLabel = "", unit = "" }) {
  if (!items.length) return empty();
  const width = 600;
  const height = 180;
  const top = niceTop(Math.max(line || 0, ...items.map((item) => item.value)));
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    class: "columns-chart",
    preserveAspectRatio: "none",
  });
  const title = svg("title", {});
  title.textContent = items.map((item) => `${item.label}: ${format(item.value)}`).join(", ");
  chart.append(title);
  columns(chart, items, top, height, format);
  if (line) {
    const y = height - (height * line) / top;
    chart.append(svg("line", { x1: 0, x2: width, y1: y, y2: y, class: "capacity" }));
  }
  chart.append(svg("line", { x1: 0, x2: width, y1: height, y2: height, class: "axis" }));
  const plot = element("div", "plot");
  plot.append(chart, timeAxis(items));
  const wrap = element("div", "column-wrap");
  wrap.dir = "ltr";
  wrap.append(valueAxis(top, format), plot);
  const figure = element("div", "column-chart");
  figure.append(wrap);
  const legend = element("p", "legend", unit);
  if (line) legend.append(element("span", "capacity-key", ` · ${lineLabel} ${format(line)}`));
  figure.append(legend);
  return figure;
}

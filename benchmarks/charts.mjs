// Draws the common-shape charts from a load benchmark JSON file, as plain SVG with no dependencies:
//   node benchmarks/charts.mjs benchmarks/results/<run>.json docs/perf
// cpu-per-delivery.svg and p99-latency.svg: one line per system over the number of clients (the median of the
// repetitions); latency-cdf-100.svg: the latency distribution of each system's 100-client run.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [input, outDir = "docs/perf"] = process.argv.slice(2);
if (!input) {
  console.error("usage: node benchmarks/charts.mjs RESULTS.json [OUT_DIR]");
  process.exit(64);
}
const document = JSON.parse(readFileSync(input, "utf8"));
const runs = (document.commonRuns ?? []).filter((run) => !run.error);
const colours = { websocket: "#1f77b4", signalr: "#d62728", sse: "#9467bd", bun: "#2ca02c", listen: "#7f7f7f" };
const names = { websocket: "PgNotifyHub /ws", signalr: "PgNotifyHub SignalR", sse: "PgNotifyHub /events (SSE)", bun: "Bun pgws bridge", listen: "bare LISTEN" };
const median = (values) => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const number = (value) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)).replace(/\.0+$/, "");

// One chart: series of [x, y, label] points, a log or linear x axis, a linear or log y axis from zero or its least.
function chart({ title, xTitle, yTitle, series, logX, logY, note }) {
  const width = 720, height = 420, left = 70, right = 170, top = 40, bottom = 60;
  const points = series.flatMap((line) => line.points);
  if (points.length === 0) return null;
  const xs = points.map((point) => point[0]), ys = points.map((point) => point[1]);
  const scale = (log, min, max, from, to) => {
    if (log) { min = Math.log10(min); max = Math.log10(max); }
    if (max === min) { max = min + 1; }
    return (value) => from + ((log ? Math.log10(value) : value) - min) / (max - min) * (to - from);
  };
  let [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [logY ? Math.min(...ys) : 0, Math.max(...ys) * 1.1];
  if (logX) { xMin = 10 ** Math.floor(Math.log10(xMin)); xMax = 10 ** Math.ceil(Math.log10(xMax)); }
  if (logY) { yMin = 10 ** Math.floor(Math.log10(yMin)); yMax = 10 ** Math.ceil(Math.log10(yMax)); }
  const x = scale(logX, xMin, xMax, left, width - right);
  const y = scale(logY, yMin, yMax, height - bottom, top);
  const ticks = (log, min, max) => log
    ? Array.from({ length: Math.round(Math.log10(max / min)) + 1 }, (_, i) => min * 10 ** i).flatMap((decade) => [decade, 2 * decade, 5 * decade]).filter((tick) => tick <= max)
    : Array.from({ length: 6 }, (_, i) => min + (max - min) * i / 5);
  const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`];
  for (const tick of ticks(logX, xMin, xMax)) {
    svg.push(`<line x1="${x(tick)}" x2="${x(tick)}" y1="${top}" y2="${height - bottom}" stroke="#e5e5e5"/>`,
      `<text x="${x(tick)}" y="${height - bottom + 16}" text-anchor="middle">${number(tick)}</text>`);
  }
  for (const tick of ticks(logY, yMin, yMax)) {
    svg.push(`<line x1="${left}" x2="${width - right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${number(tick)}</text>`);
  }
  svg.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - bottom + 36}" text-anchor="middle">${escape(xTitle)}</text>`,
    `<text transform="translate(18 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yTitle)}</text>`);
  series.forEach((line, index) => {
    const colour = colours[line.system] ?? "#000";
    const path = line.points.map((point, i) => `${i ? "L" : "M"}${x(point[0]).toFixed(1)} ${y(point[1]).toFixed(1)}`).join(" ");
    svg.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [px, py, label] of line.points.filter((point) => point[2] !== undefined)) {
      svg.push(`<circle cx="${x(px)}" cy="${y(py)}" r="3.5" fill="${colour}"/>`,
        `<text x="${x(px) + 6}" y="${y(py) - 6}" font-size="10" fill="${colour}">${escape(label)}</text>`);
    }
    svg.push(`<line x1="${width - right + 14}" x2="${width - right + 34}" y1="${top + 10 + index * 20}" y2="${top + 10 + index * 20}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${width - right + 40}" y="${top + 14 + index * 20}">${escape(names[line.system] ?? line.system)}</text>`);
  });
  if (note) svg.push(`<text x="${left}" y="${height - 8}" font-size="10" fill="#555">${escape(note)}</text>`);
  svg.push("</svg>");
  return svg.join("\n") + "\n";
}

// Median per system and number of clients; each point is labelled with its rate.
function byClients(metric) {
  const systems = [...new Set(runs.filter((run) => run.system !== "listen").map((run) => run.system))];
  return systems.map((system) => {
    const sizes = [...new Set(runs.filter((run) => run.system === system).map((run) => `${run.clients}x${run.ratePerSecond}`))];
    const points = sizes.map((size) => {
      const group = runs.filter((run) => run.system === system && `${run.clients}x${run.ratePerSecond}` === size);
      return [group[0].clients, median(group.map(metric)), `${group[0].ratePerSecond}/s`];
    }).filter((point) => point[1] !== undefined).sort((a, b) => a[0] - b[0]);
    return { system, points };
  });
}

const load = document.machine?.["load average at start"];
const note = `${document.startedAt?.slice(0, 10) ?? ""}, ${document.machine?.cores ?? "?"} cores, load average at start ${load ?? "?"}; `
  + `one NOTIFY per transaction, ${runs[0]?.payloadBytes ?? 100}-byte payloads; labels: total NOTIFYs/s`;
const charts = {
  "cpu-per-delivery.svg": chart({ title: "Server CPU per delivery", xTitle: "clients", yTitle: "µs of CPU per delivery", series: byClients((run) => run.serverCpuMicrosecondsPerDelivery), logX: true, note }),
  "p99-latency.svg": chart({ title: "p99 latency, send to receipt", xTitle: "clients", yTitle: "p99 latency (ms)", series: byClients((run) => run.latencyP99Ms), logX: true, note }),
  "latency-cdf-100.svg": chart({
    title: "Latency distribution, 100 clients",
    xTitle: "latency, send to receipt (ms)",
    yTitle: "fraction of deliveries",
    // The first repetition of each system's 100-client run, and the bare LISTEN at the same rate.
    series: [...new Set(runs.map((run) => run.system))].map((system) => {
      const run = runs.find((candidate) => candidate.system === system && candidate.clients === (system === "listen" ? 1 : 100));
      return { system, points: (run?.latencyCdf ?? []).filter(([, ms]) => ms > 0).map(([percent, ms]) => [ms, percent / 100]) };
    }).filter((line) => line.points.length > 0),
    logX: true,
    note,
  }),
};
mkdirSync(outDir, { recursive: true });
for (const [name, svg] of Object.entries(charts)) {
  if (svg) {
    writeFileSync(join(outDir, name), svg);
    console.log(`chart: ${join(outDir, name)}`);
  } else {
    console.log(`chart: ${name} left out, no common-shape runs in ${input}`);
  }
}

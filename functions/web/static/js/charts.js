// Small SVG charts, written here rather than taken from a library: the app needs bars, a histogram and a
// line over time, each shown beside a table of its numbers (which is what a screen reader reads and what
// a user copies), so a chart library (20-70 kB gzipped, canvas) would outweigh the whole app for little.
// Every bar carries its value as text: colour is never the only signal.
import { html } from "./lib.js";

export const PALETTE = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#52525b"];

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * power >= value);
  return step * power;
}

const short = (value) =>
  Math.abs(value) >= 1e6 ? `${+(value / 1e6).toFixed(1)}M` : Math.abs(value) >= 1e4 ? `${+(value / 1e3).toFixed(1)}k` : `${+value.toFixed(2)}`;

/**
 * Horizontal bars, one row per item: rows [{label, values: [n, ...]}], series [{name, color?}] (several
 * series are drawn side by side within a row). `format` turns a value into its label.
 */
export function Bars({ rows, series = [{ name: "" }], title, format = short, width = 640 }) {
  const band = 14 * series.length + 10;
  const labelWidth = Math.min(180, Math.max(60, ...rows.map((row) => String(row.label).length * 7)));
  const plot = width - labelWidth - 60;
  const max = niceMax(Math.max(0, ...rows.flatMap((row) => row.values)));
  const height = rows.length * band + 8;
  return html`<figure class="chart-figure">
    <svg class="chart" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${title}>
      ${rows.map((row, r) => {
        const y = 4 + r * band;
        return html`<g>
          <text x=${labelWidth - 6} y=${y + band / 2} text-anchor="end" dominant-baseline="middle">${String(row.label).slice(0, 28)}</text>
          ${row.values.map((value, s) => {
            const w = max ? (plot * Math.max(0, value)) / max : 0;
            const barY = y + 4 + s * 14;
            return html`<g>
              <rect x=${labelWidth} y=${barY} width=${Math.max(w, value > 0 ? 1 : 0)} height="12" rx="2" fill=${series[s].color || PALETTE[s % PALETTE.length]}><title>${`${row.label} ${series[s].name}: ${format(value)}`}</title></rect>
              <text x=${labelWidth + w + 4} y=${barY + 6} dominant-baseline="middle">${format(value)}</text>
            </g>`;
          })}
        </g>`;
      })}
    </svg>
    ${series.length > 1 ? Legend({ series }) : null}
  </figure>`;
}

/** Vertical bars over ordered buckets: buckets [{label, count}] (a distribution). */
export function Histogram({ buckets, title, format = short, width = 640, height = 200, color = PALETTE[0] }) {
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.count)));
  const left = 8;
  const bottom = 22;
  const plotHeight = height - bottom - 14;
  const slot = (width - left * 2) / Math.max(1, buckets.length);
  return html`<svg class="chart" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${title}>
    <line x1=${left} x2=${width - left} y1=${height - bottom} y2=${height - bottom} stroke="#a1a1aa" />
    ${buckets.map((bucket, i) => {
      const h = (plotHeight * Math.max(0, bucket.count)) / max;
      const x = left + i * slot;
      return html`<g>
        <rect x=${x + slot * 0.1} y=${height - bottom - h} width=${slot * 0.8} height=${h} rx="2" fill=${color}><title>${`${bucket.label}: ${format(bucket.count)}`}</title></rect>
        <text x=${x + slot / 2} y=${height - bottom - h - 3} text-anchor="middle">${bucket.count ? format(bucket.count) : ""}</text>
        <text x=${x + slot / 2} y=${height - 6} text-anchor="middle">${bucket.label}</text>
      </g>`;
    })}
  </svg>`;
}

/**
 * A line (or steps) over time: points [{t: ms, value}] in time order; `marks` [{t, label}] are drawn as
 * labelled vertical ticks (e.g. stage changes).
 */
export function Line({ points, marks = [], title, step = true, width = 640, height = 200, color = PALETTE[0], format = short }) {
  if (!points.length) return null;
  const left = 40;
  const right = 10;
  const top = 16;
  const bottom = 22;
  const t0 = Math.min(...points.map((p) => p.t), ...marks.map((m) => m.t));
  const t1 = Math.max(...points.map((p) => p.t), ...marks.map((m) => m.t), t0 + 1);
  const low = Math.min(0, ...points.map((p) => p.value));
  const high = niceMax(Math.max(...points.map((p) => p.value), 1));
  const x = (t) => left + ((width - left - right) * (t - t0)) / (t1 - t0);
  const y = (v) => top + ((height - top - bottom) * (high - v)) / (high - low || 1);
  let path = "";
  points.forEach((p, i) => {
    if (i === 0) path += `M${x(p.t)},${y(p.value)}`;
    else if (step) path += `H${x(p.t)}V${y(p.value)}`;
    else path += `L${x(p.t)},${y(p.value)}`;
  });
  const day = (t) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return html`<svg class="chart" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${title}>
    <line x1=${left} x2=${width - right} y1=${y(low)} y2=${y(low)} stroke="#a1a1aa" />
    <text x=${left - 4} y=${y(high)} text-anchor="end" dominant-baseline="middle">${format(high)}</text>
    <text x=${left - 4} y=${y(low)} text-anchor="end" dominant-baseline="middle">${format(low)}</text>
    <text x=${left} y=${height - 6}>${day(t0)}</text>
    <text x=${width - right} y=${height - 6} text-anchor="end">${day(t1)}</text>
    ${marks.map((m) => html`<g>
      <line x1=${x(m.t)} x2=${x(m.t)} y1=${top} y2=${height - bottom} stroke="#a1a1aa" stroke-dasharray="3 3" />
      <text x=${x(m.t) + 3} y=${top - 4}>${m.label}</text>
    </g>`)}
    <path d=${path} fill="none" stroke=${color} stroke-width="2" />
    ${points.map((p) => html`<circle cx=${x(p.t)} cy=${y(p.value)} r="2.5" fill=${color}><title>${`${day(p.t)}: ${format(p.value)}`}</title></circle>`)}
  </svg>`;
}

export function Legend({ series }) {
  return html`<ul class="legend">
    ${series.map((s, i) => html`<li><span class="swatch" aria-hidden="true" style=${{ background: s.color || PALETTE[i % PALETTE.length] }}></span>${s.name}</li>`)}
  </ul>`;
}

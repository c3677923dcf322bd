// Inline SVG charts for report.html: drawn here, so the report needs no script, no library and
// no network. Sizes are viewBox units; CSS scales the charts to the page width.
import { count, escapeHtml, fixed } from './html.ts';

export interface Series {
  readonly name: string;
  /** CSS class that colours this series (`s0`…`s3`). */
  readonly className: string;
}

export interface BarRow {
  readonly label: string;
  readonly values: readonly number[];
}

const WIDTH = 760;
const LABEL_WIDTH = 200;
const VALUE_WIDTH = 70;
const BAR = 14;
const GAP = 8;

function legend(series: readonly Series[], y: number, left = LABEL_WIDTH): string {
  if (series.length < 2) return '';
  let x = left;
  return series
    .map((s) => {
      const item = `<rect class="${s.className}" x="${x}" y="${y}" width="10" height="10"/><text x="${x + 14}" y="${y + 9}">${escapeHtml(s.name)}</text>`;
      x += 24 + s.name.length * 7;
      return item;
    })
    .join('');
}

/**
 * One group of horizontal bars per row (one bar per series), with the value after each bar. With
 * `overlay`, a row's bars share one line, each drawn over the previous (for nested counts such as
 * records in and out of a stage); the value shown is the last series'.
 */
export function horizontalBars(
  title: string,
  rows: readonly BarRow[],
  series: readonly Series[],
  options: { format?: (n: number) => string; overlay?: boolean } = {},
): string {
  const format = options.format ?? count;
  const lanes = options.overlay ? 1 : series.length;
  const max = Math.max(0, ...rows.flatMap((r) => r.values));
  const top = series.length > 1 ? 22 : 4;
  const rowHeight = lanes * BAR + GAP;
  const height = top + rows.length * rowHeight + 4;
  const scale = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / (max || 1);
  const body = rows
    .map((row, i) => {
      const y = top + i * rowHeight;
      const label = `<text class="label" x="${LABEL_WIDTH - 6}" y="${y + (lanes * BAR) / 2 + 4}" text-anchor="end">${escapeHtml(clip(row.label, 30))}</text>`;
      const tooltip = escapeHtml(`${row.label} · ${row.values.map((v, j) => `${series[j]?.name ?? ''} ${format(v)}`).join(' · ')}`);
      const bars = row.values
        .map((value, j) => {
          const width = Math.max(value > 0 ? 1 : 0, value * scale);
          const by = options.overlay ? y : y + j * BAR;
          const shown = !options.overlay || j === row.values.length - 1;
          const widest = options.overlay ? Math.max(...row.values) * scale : width;
          return (
            `<rect class="${series[j]?.className ?? 's0'}" x="${LABEL_WIDTH}" y="${by}" width="${fixed(width, 1)}" height="${BAR - 2}"><title>${tooltip}</title></rect>` +
            (shown
              ? `<text x="${fixed(LABEL_WIDTH + widest + 4, 1)}" y="${by + BAR - 4}">${escapeHtml(options.overlay ? row.values.map(format).join(' → ') : format(value))}</text>`
              : '')
          );
        })
        .join('');
      return label + bars;
    })
    .join('');
  return svg(title, height, legend(series, 4) + body);
}

export interface HistogramBin {
  readonly from: number;
  readonly to: number;
  /** one count per series */
  readonly counts: readonly number[];
}

/**
 * Numbers a histogram bins, held compactly: each distinct value with how often it occurs, or each
 * value once (a corpus-sized series is a million numbers; an array of them, and the copies made to
 * bin it, were the audit's largest allocations at the end of a run).
 */
export interface WeightedValues {
  /** How many values (counts summed). */
  readonly length: number;
  /** Visits every value with its count (a value may be visited more than once). */
  forEachValue(visit: (value: number, count: number) => void): void;
}

/** What binValues bins: a list of numbers, or weighted values. */
export type Binnable = readonly number[] | WeightedValues;

function eachValue(values: Binnable, visit: (value: number, count: number) => void): void {
  if ('forEachValue' in values) values.forEachValue(visit);
  else for (const value of values) visit(value, 1);
}

/** Equal-width bins over [min, max] (a degenerate range becomes one bin); non-finite values are left out. */
export function binValues(seriesValues: readonly Binnable[], bins: number, domain?: readonly [number, number]): HistogramBin[] {
  // Loops, not Math.min(...all) nor a flattened copy: spreading 100,000+ values overflows the call stack.
  let low = Infinity;
  let high = -Infinity;
  let any = false;
  for (const values of seriesValues)
    eachValue(values, (value) => {
      if (!Number.isFinite(value)) return;
      any = true;
      low = Math.min(value, low);
      high = Math.max(value, high);
    });
  if (!any) return [];
  const min = domain?.[0] ?? low;
  const max = domain?.[1] ?? high;
  const n = max > min ? bins : 1;
  const width = max > min ? (max - min) / n : 1;
  const result = Array.from({ length: n }, (_, i) => ({ from: min + i * width, to: min + (i + 1) * width, counts: seriesValues.map(() => 0) }));
  seriesValues.forEach((values, s) =>
    eachValue(values, (value, count) => {
      if (!Number.isFinite(value)) return;
      const i = Math.min(n - 1, Math.max(0, Math.floor((value - min) / width)));
      result[i].counts[s] += count;
    }),
  );
  return result;
}

/** Vertical bars per bin, series side by side; the axis shows the bin edges. */
export function histogram(title: string, bins: readonly HistogramBin[], series: readonly Series[], edge: (n: number) => string): string {
  // Narrower than the bar charts: histograms sit two to a row.
  const width = 480;
  const height = 170;
  const top = series.length > 1 ? 22 : 8;
  const left = 40;
  const bottom = height - 28;
  const plotWidth = width - left - 10;
  const max = Math.max(1, ...bins.flatMap((b) => b.counts));
  const binWidth = plotWidth / Math.max(1, bins.length);
  const barWidth = (binWidth - 4) / Math.max(1, series.length);
  const scale = (bottom - top) / max;
  const bars = bins
    .map((bin, i) =>
      bin.counts
        .map((n, s) => {
          const h = n * scale;
          const x = left + i * binWidth + 2 + s * barWidth;
          return `<rect class="${series[s]?.className ?? 's0'}" x="${fixed(x, 1)}" y="${fixed(bottom - h, 1)}" width="${fixed(Math.max(1, barWidth - 1), 1)}" height="${fixed(h, 1)}"><title>${escapeHtml(`${edge(bin.from)} – ${edge(bin.to)}: ${series[s]?.name ?? ''} ${n}`)}</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const step = Math.max(1, Math.ceil(bins.length / 8));
  const ticks = bins
    .map((bin, i) =>
      i % step === 0 ? `<text x="${fixed(left + i * binWidth, 1)}" y="${bottom + 14}" text-anchor="middle">${escapeHtml(edge(bin.from))}</text>` : '',
    )
    .join('');
  const last = bins.at(-1);
  const lastTick = last ? `<text x="${fixed(left + bins.length * binWidth, 1)}" y="${bottom + 14}" text-anchor="end">${escapeHtml(edge(last.to))}</text>` : '';
  const axes =
    `<line class="axis" x1="${left}" y1="${bottom}" x2="${left + plotWidth}" y2="${bottom}"/>` +
    `<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${bottom}"/>` +
    `<text x="${left - 4}" y="${top + 8}" text-anchor="end">${max}</text><text x="${left - 4}" y="${bottom}" text-anchor="end">0</text>`;
  return svg(title, height, legend(series, 4, left) + axes + bars + ticks + lastTick, width);
}

export interface HeatCell {
  /** 0..1 colour intensity; null = no data */
  readonly value: number | null;
  readonly text: string;
  readonly title: string;
}

/** A square matrix with row and column labels, cells shaded by value. */
export function heatmap(title: string, labels: readonly string[], cells: readonly (readonly HeatCell[])[]): string {
  const left = 110;
  const top = 24;
  const cell = Math.min(150, Math.floor((WIDTH - left) / Math.max(1, labels.length)));
  const height = top + labels.length * 44 + 4;
  const header = labels.map((l, j) => `<text x="${left + j * cell + cell / 2}" y="${top - 8}" text-anchor="middle">${escapeHtml(l)}</text>`).join('');
  const body = cells
    .map((row, i) => {
      const y = top + i * 44;
      const label = `<text class="label" x="${left - 6}" y="${y + 26}" text-anchor="end">${escapeHtml(labels[i])}</text>`;
      return (
        label +
        row
          .map((c, j) => {
            const x = left + j * cell;
            const shade = c.value === null ? 'none' : fixed(0.12 + 0.88 * c.value, 2);
            return (
              `<rect class="${c.value === null ? 'empty' : 'heat'}" x="${x + 1}" y="${y + 1}" width="${cell - 2}" height="42"${c.value === null ? '' : ` fill-opacity="${shade}"`}><title>${escapeHtml(c.title)}</title></rect>` +
              `<text x="${x + cell / 2}" y="${y + 26}" text-anchor="middle" class="${c.value !== null && c.value > 0.55 ? 'on-dark' : ''}">${escapeHtml(c.text)}</text>`
            );
          })
          .join('')
      );
    })
    .join('');
  return svg(title, height, header + body);
}

function svg(title: string, height: number, body: string, width = WIDTH): string {
  return `<svg class="chart" viewBox="0 0 ${width} ${Math.ceil(height)}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// The balance report as one self-contained HTML page that travels inside the export archive: inline CSS and
// inline SVG charts, no script, nothing fetched (a Content-Security-Policy forbids it, so the page stays inert
// even when opened from an untrusted archive). Every string from the data (site names, label names, values) is
// escaped: a site called "<script>" must show up as text, not run.
import { SPLITS, type Split } from './patient-split';
import type { AttributeBalance, BalanceReport, BalanceWarning } from './balance-report';

export interface BalanceReportHtmlOptions {
  /** Page title and heading. Default 'Dataset balance report'. */
  title?: string;
  /** A line under the heading (dataset name, export id, date): escaped like everything else. */
  subtitle?: string;
}

const SPLIT_COLOURS: Record<Split, string> = { train: '#4c78a8', validation: '#f58518', test: '#54a24b' };

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

const pct = (f: number) => `${(f * 100).toFixed(1)}%`;
const num = (n: number) => n.toLocaleString('en-US');

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1f24;line-height:1.4}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.subtitle,.muted{color:#57606a}
.box{border:2px solid;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
.box.warn{border-color:#bf8700;background:#fff8c5}.box.ok{border-color:#1a7f37;background:#dafbe1}
.box h2{margin:0 0 .5rem;border:0;font-size:1.1rem}
.box ul{margin:0;padding-left:1.2rem}
.kind{display:inline-block;font-size:.75rem;font-weight:600;border-radius:3px;padding:0 .35rem;margin-right:.4rem;background:#eaeef2}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f6f8fa}
tr.flag td{background:#ffebe9}
.bar{display:inline-block;height:.6rem;background:#4c78a8;vertical-align:middle;margin-left:.3rem}
.attribute{margin-bottom:2rem}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
svg text{font-family:inherit}
`;

/** The report as a complete HTML document (a string): warnings first, then one table and chart per attribute. */
export function balanceReportHtml(report: BalanceReport, options: BalanceReportHtmlOptions = {}): string {
  const title = options.title ?? 'Dataset balance report';
  const splitSummary = SPLITS.map((s) => `${s} ${num(report.splits[s].cases)} cases / ${num(report.splits[s].patients)} patients`).join(' · ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    options.subtitle !== undefined ? `<p class="subtitle">${escapeHtml(options.subtitle)}</p>` : '',
    `<p>${escapeHtml(`${num(report.cases)} cases from ${num(report.patients)} patients: ${splitSummary}.`)}</p>`,
    warningsBox(report),
    '<h2>Groups per split</h2>',
    `<p class="muted">${escapeHtml(`Fractions are of cases. Groups under ${pct(report.settings.minGroupFraction)}${report.settings.minGroupCount !== null ? ` or ${report.settings.minGroupCount} cases` : ''} are warned about; targets are compared with a tolerance of ±${pct(report.settings.targetTolerance)}.`)}</p>`,
    legend(),
    ...report.attributes.map(attributeSection),
    labelsSection(report),
    qualitySection(report),
    '</body></html>',
  ].join('\n');
}

function warningsBox(report: BalanceReport): string {
  if (report.warnings.length === 0) return '<div class="box ok"><h2>No warnings</h2>Every group is above the thresholds and within its targets.</div>';
  const items = report.warnings.map((w: BalanceWarning) => `<li><span class="kind">${escapeHtml(w.kind)}</span>${escapeHtml(w.message)}</li>`);
  return `<div class="box warn" role="alert"><h2>${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'}</h2><ul>\n${items.join('\n')}\n</ul></div>`;
}

function legend(): string {
  const items = SPLITS.map((s) => `<span><i style="background:${SPLIT_COLOURS[s]}"></i>${s}</span>`);
  return `<p class="legend">${items.join('')}<span><i style="background:none;border-top:2px dashed #1b1f24;height:0"></i>target</span></p>`;
}

function cell(count: number, fraction: number, total: number): string {
  return total === 0 ? '<td class="muted">–</td>' : `<td>${num(count)} (${pct(fraction)})</td>`;
}

function attributeSection(a: AttributeBalance): string {
  const hasTargets = a.targets.length > 0;
  const head = `<tr><th>${escapeHtml(a.attribute)}</th><th>overall</th>${SPLITS.map((s) => `<th>${s}</th>`).join('')}${hasTargets ? '<th>target</th><th>overall − target</th>' : ''}</tr>`;
  const rows = a.values.map((value, i) => {
    const target = a.targets.find((t) => t.value === value);
    const o = a.overall.groups[i];
    const targetCells = hasTargets ? (target ? `<td>${pct(target.target)}</td><td>${target.overall.difference >= 0 ? '+' : '−'}${pct(Math.abs(target.overall.difference))}</td>` : '<td></td><td></td>') : '';
    return `<tr><td>${escapeHtml(value)}</td>${cell(o.cases, o.fraction, a.overall.cases)}${SPLITS.map((s) => cell(a.splits[s].groups[i].cases, a.splits[s].groups[i].fraction, a.splits[s].cases)).join('')}${targetCells}</tr>`;
  });
  return `<section class="attribute"><h3>${escapeHtml(a.attribute)}</h3>\n<table><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>\n${attributeChart(a)}</section>`;
}

/** A grouped bar chart: per value, one bar per split (fraction of that split's cases), a dashed target tick. */
function attributeChart(a: AttributeBalance): string {
  const bar = 14, gap = 18, plotHeight = 160, top = 12, left = 56, bottom = 70, right = 12;
  const groupWidth = SPLITS.length * bar + gap;
  const width = Math.max(320, left + a.values.length * groupWidth + right);
  const height = top + plotHeight + bottom;
  const peak = Math.max(0.1, ...a.values.flatMap((_, i) => SPLITS.map((s) => a.splits[s].groups[i].fraction)), ...a.targets.map((t) => t.target));
  const yMax = peak <= 0.5 ? Math.ceil(peak * 10 - 1e-9) / 10 : Math.min(1, Math.ceil(peak * 5 - 1e-9) / 5);
  const y = (f: number) => top + plotHeight - (f / yMax) * plotHeight;
  const parts: string[] = [];
  // Gridlines on round percentages: every 10 % up to 50 %, every 20 % above.
  const step = yMax <= 0.5 ? 0.1 : 0.2;
  for (let k = 0; k * step <= yMax + 1e-9; k++) {
    const f = k * step;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(f).toFixed(1)}" y2="${y(f).toFixed(1)}" stroke="#d0d7de"/>`);
    parts.push(`<text x="${left - 4}" y="${(y(f) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#57606a">${Math.round(f * 100)}%</text>`);
  }
  a.values.forEach((value, i) => {
    const x0 = left + gap / 2 + i * groupWidth;
    SPLITS.forEach((s, j) => {
      const g = a.splits[s].groups[i];
      const h = (g.fraction / yMax) * plotHeight;
      parts.push(
        `<rect x="${x0 + j * bar}" y="${(top + plotHeight - h).toFixed(1)}" width="${bar - 2}" height="${h.toFixed(1)}" fill="${SPLIT_COLOURS[s]}">` +
          `<title>${escapeHtml(`${a.attribute} = ${value}, ${s}: ${g.cases} cases (${pct(g.fraction)})`)}</title></rect>`,
      );
    });
    const target = a.targets.find((t) => t.value === value);
    if (target) {
      parts.push(`<line x1="${x0 - 3}" x2="${x0 + SPLITS.length * bar + 1}" y1="${y(target.target).toFixed(1)}" y2="${y(target.target).toFixed(1)}" stroke="#1b1f24" stroke-width="2" stroke-dasharray="4 2"><title>${escapeHtml(`target ${pct(target.target)}`)}</title></line>`);
    }
    const shown = value.length > 14 ? `${value.slice(0, 13)}…` : value; // the full value is in the table and the tooltip
    const cx = x0 + (SPLITS.length * bar) / 2;
    parts.push(`<text x="${cx}" y="${top + plotHeight + 12}" font-size="11" text-anchor="end" transform="rotate(-35 ${cx} ${top + plotHeight + 12})">${escapeHtml(shown)}<title>${escapeHtml(value)}</title></text>`);
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="#57606a"/>`);
  const label = `${a.attribute}: fraction of cases per value and split`;
  return `<svg class="chart" role="img" aria-label="${escapeHtml(label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${escapeHtml(label)}</title>${parts.join('')}</svg>`;
}

function labelsSection(report: BalanceReport): string {
  if (report.labels.length === 0) return '<h2>Labels</h2><p class="muted">No labels in the dataset.</p>';
  const head = `<tr><th>label</th><th>overall</th>${SPLITS.map((s) => `<th>${s}</th>`).join('')}<th>voxels</th></tr>`;
  const rows = report.labels.map((l) => {
    const withBar = (cases: number, fraction: number, total: number) =>
      total === 0 ? '<td class="muted">–</td>' : `<td>${num(cases)} (${pct(fraction)})<span class="bar" style="width:${(fraction * 60).toFixed(1)}px"></span></td>`;
    return `<tr><td>${escapeHtml(l.label)}</td>${withBar(l.overall.cases, l.overall.fraction, report.cases)}${SPLITS.map((s) => withBar(l.splits[s].cases, l.splits[s].fraction, report.splits[s].cases)).join('')}<td>${num(l.overall.voxels)}</td></tr>`;
  });
  return `<h2>Labels</h2><p class="muted">Cases in which each label has at least one voxel.</p>\n<table><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function qualitySection(report: BalanceReport): string {
  const q = report.quality;
  const fmt = (x: number | null, digits = 3) => (x === null ? '–' : x.toFixed(digits));
  const rate = (x: number | null) => (x === null ? '–' : pct(x));
  const overall = `Overall: mean agreement ${fmt(q.overall.meanAgreement)} (SD ${fmt(q.overall.agreementSd)}, ${q.overall.agreementCases} scored cases), rejection rate ${rate(q.overall.rejectionRate)} of ${q.overall.reviewedCases} reviewed cases, mean rework rounds ${fmt(q.overall.meanReworkRounds, 2)}.`;
  const tables = q.byAttribute.map((a) => {
    const rows = a.groups.map((g) => {
      const flags = [g.lowAgreement ? 'low agreement' : '', g.highRejection ? 'high rejection' : ''].filter(Boolean).join(', ');
      return `<tr${flags ? ' class="flag"' : ''}><td>${escapeHtml(g.value)}</td><td>${num(g.cases)}</td><td>${num(g.agreementCases)}</td><td>${fmt(g.meanAgreement)}</td><td>${num(g.reviewedCases)}</td><td>${rate(g.rejectionRate)}</td><td>${fmt(g.meanReworkRounds, 2)}</td><td>${escapeHtml(flags)}</td></tr>`;
    });
    return `<h3>${escapeHtml(a.attribute)}</h3><table class="quality"><thead><tr><th>${escapeHtml(a.attribute)}</th><th>cases</th><th>scored</th><th>mean agreement</th><th>reviewed</th><th>rejected</th><th>mean rework</th><th>flag</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
  });
  return `<h2>Annotation quality by group</h2><p class="muted">${escapeHtml(q.rule)}</p><p>${escapeHtml(overall)}</p>\n${tables.join('\n')}`;
}

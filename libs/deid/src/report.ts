// What de-identification did to an instance, attribute by attribute, and the per-study summary stored with the
// study (so a reviewer can see, for example, that Institution Name was replaced in all 240 instances).
import type { DeidOptions } from './options';

export type DeidAction =
  | 'removed'
  | 'emptied'
  | 'dummy'
  | 'replaced-uid'
  | 'shifted'
  | 'cleaned'
  | 'kept-by-option'
  | 'private-removed'
  | 'private-kept';

export interface DeidReportEntry {
  /** The element's own tag, 'GGGG,EEEE'. */
  tag: string;
  /**
   * Where it is: the tag for a top-level element, or the chain through sequence items for a nested one, e.g.
   * '0008,1140[2].0008,1155'. File Meta elements are prefixed 'meta:'.
   */
  path: string;
  keyword: string;
  action: DeidAction;
  /** E.g. 'PS3.15 E.1-1 basic profile: X' or 'Retain Patient Characteristics option'. */
  reason: string;
}

export interface DeidReport {
  profile: string;
  edition: string;
  options: DeidOptions;
  entries: DeidReportEntry[];
}

export interface StudyDeidSummaryRow {
  tag: string;
  keyword: string;
  action: DeidAction;
  /** How many times the action was applied, over all instances and sequence items. */
  count: number;
  /** In how many instances it was applied at least once. */
  instances: number;
  /** Distinct paths, with sequence item numbers folded to [*]. */
  paths: string[];
  /** Distinct reasons. */
  reasons: string[];
}

export interface StudyDeidSummary {
  instanceCount: number;
  profile: string;
  edition: string;
  /** The options, when every instance used the same ones; undefined when they differ (which deserves a look). */
  options?: DeidOptions;
  rows: StudyDeidSummaryRow[];
}

function sameOptions(a: DeidOptions, b: DeidOptions): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof DeidOptions)[]);
  return [...keys].every((k) => a[k] === b[k]);
}

/** Summarises the reports of a study's instances: per tag and action, how often and where. */
export function mergeReports(reports: readonly DeidReport[]): StudyDeidSummary {
  const rows = new Map<string, StudyDeidSummaryRow & { paths: string[]; seenIn: number }>();
  reports.forEach((report, index) => {
    for (const e of report.entries) {
      const key = `${e.tag}|${e.action}`;
      let row = rows.get(key);
      if (!row) {
        row = { tag: e.tag, keyword: e.keyword, action: e.action, count: 0, instances: 0, paths: [], reasons: [], seenIn: -1 };
        rows.set(key, row);
      }
      row.count++;
      if (row.seenIn !== index) {
        row.seenIn = index;
        row.instances++;
      }
      const path = e.path.replace(/\[\d+\]/g, '[*]');
      if (!row.paths.includes(path)) row.paths.push(path);
      if (!row.reasons.includes(e.reason)) row.reasons.push(e.reason);
    }
  });
  const first = reports[0];
  const options = first && reports.every((r) => sameOptions(r.options, first.options)) ? { ...first.options } : undefined;
  return {
    instanceCount: reports.length,
    profile: first?.profile ?? '',
    edition: first?.edition ?? '',
    options,
    rows: [...rows.values()]
      .map(({ seenIn: _seenIn, ...row }) => ({ ...row, paths: row.paths.sort() }))
      .sort((a, b) => a.tag.localeCompare(b.tag) || a.action.localeCompare(b.action)),
  };
}

/** Adds one more summary (e.g. a newly ingested instance) to a study's running summary. */
export function combineSummaries(a: StudyDeidSummary | null | undefined, b: StudyDeidSummary): StudyDeidSummary {
  if (!a || !a.rows) return b;
  const rows = new Map<string, StudyDeidSummaryRow>(a.rows.map((r) => [`${r.tag}|${r.action}`, { ...r, paths: [...r.paths], reasons: [...r.reasons] }]));
  for (const r of b.rows) {
    const key = `${r.tag}|${r.action}`;
    const row = rows.get(key);
    if (!row) rows.set(key, { ...r });
    else {
      row.count += r.count;
      row.instances += r.instances;
      for (const p of r.paths) if (!row.paths.includes(p)) row.paths.push(p);
      for (const x of r.reasons) if (!row.reasons.includes(x)) row.reasons.push(x);
    }
  }
  const options = a.options && b.options && sameOptions(a.options, b.options) ? a.options : undefined;
  return {
    instanceCount: a.instanceCount + b.instanceCount,
    profile: a.profile || b.profile,
    edition: a.edition || b.edition,
    options,
    rows: [...rows.values()].map((r) => ({ ...r, paths: r.paths.sort() })).sort((x, y) => x.tag.localeCompare(y.tag) || x.action.localeCompare(y.action)),
  };
}

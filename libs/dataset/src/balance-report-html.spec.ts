import { datasetCase } from '../test/synthetic-cases';
import { balanceReport } from './balance-report';
import { balanceReportHtml, escapeHtml } from './balance-report-html';
import type { Split } from './patient-split';

describe('balanceReportHtml', () => {
  const evilSite = '<script>alert("x")</script>';
  const cases = Array.from({ length: 40 }, (_, i) =>
    datasetCase(`c${i}`, `p${i}`, { sex: i < 1 ? 'F' : 'M', site: i % 4 === 0 ? evilSite : 'A & B', age: 20 + i }, { 'liver<1>': 10, tumour: i % 3 === 0 ? 5 : 0 }, { agreement: 0.9, rejected: false }),
  );
  const assignment = Object.fromEntries(cases.map((c, i) => [c.patientId, (i < 28 ? 'train' : i < 34 ? 'validation' : 'test') as Split]));
  const report = balanceReport(cases, assignment, { attributes: ['sex', 'site', 'ageBand'], targets: { sex: { F: 0.5, M: 0.5 } } });
  const html = balanceReportHtml(report, { title: 'Liver <CT> 2025', subtitle: 'export "E-1"' });

  it('escapes every string from the data', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('A &amp; B');
    expect(html).toContain('liver&lt;1&gt;');
    expect(html).toContain('<title>Liver &lt;CT&gt; 2025</title>');
    expect(html).toContain('export &quot;E-1&quot;');
  });

  it('draws one chart per attribute', () => {
    expect(html.match(/<svg\b/g)).toHaveLength(3);
    expect(html.match(/<\/svg>/g)).toHaveLength(3);
    for (const attribute of ['sex', 'site', 'ageBand']) expect(html).toContain(`aria-label="${attribute}: fraction of cases per value and split"`);
  });

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import|https?:/i);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('puts the warnings first, in a box, then the tables, labels and quality', () => {
    expect(report.warnings.length).toBeGreaterThan(0);
    const box = html.indexOf('<div class="box warn"');
    expect(box).toBeGreaterThan(0);
    expect(box).toBeLessThan(html.indexOf('<table'));
    expect(box).toBeLessThan(html.indexOf('<svg'));
    expect(html).toContain(`${report.warnings.length} warnings`);
    expect(html).toContain(escapeHtml(report.warnings[0].message));
    expect(html.indexOf('<h2>Labels</h2>')).toBeLessThan(html.indexOf('<h2>Annotation quality by group</h2>'));
    expect(html).toContain('<th>mean agreement</th>');
  });

  it('says so when there is nothing to warn about', () => {
    const calm = balanceReport([datasetCase('c', 'p', { sex: 'F' })], { p: 'train' }, { attributes: ['sex'] });
    expect(balanceReportHtml(calm)).toContain('<div class="box ok"><h2>No warnings</h2>');
  });

  it.each<[string, string]>([
    ['<b>', '&lt;b&gt;'],
    [`"'&`, '&quot;&#39;&amp;'],
    ['plain', 'plain'],
  ])('escapeHtml(%p) = %p', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
  });
});

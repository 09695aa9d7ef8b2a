/**
 * Agreement on answers (classifications): per question, the share of readers giving the most common answer, and
 * the merged answer when one answer has more readers than any other. A tie (two readers of two, Yes against No) has
 * no majority: the question is left out of the merged answers and named in `tied`, so the adjudicator starts from
 * nothing rather than from whichever answer sorted first (it was pre-filled "as the majority").
 */
export function answerAgreement(answers: Record<string, unknown>[]): { agreement: number; merged: Record<string, unknown>; perQuestion: Record<string, number>; tied: string[] } {
  const questions = [...new Set(answers.flatMap((a) => Object.keys(a)))].sort();
  const merged: Record<string, unknown> = {};
  const perQuestion: Record<string, number> = {};
  const tied: string[] = [];
  for (const q of questions) {
    const counts = new Map<string, { n: number; value: unknown }>();
    for (const a of answers) {
      const key = JSON.stringify(a[q] ?? null);
      counts.set(key, { n: (counts.get(key)?.n ?? 0) + 1, value: a[q] ?? null });
    }
    const ranked = [...counts.entries()].sort((x, y) => y[1].n - x[1].n || x[0].localeCompare(y[0]));
    const best = ranked[0][1];
    if (ranked.length > 1 && ranked[1][1].n === best.n) tied.push(q);
    else merged[q] = best.value;
    perQuestion[q] = best.n / answers.length;
  }
  const values = Object.values(perQuestion);
  return { agreement: values.length ? values.reduce((a, b) => a + b, 0) / values.length : 1, merged, perQuestion, tied };
}

// The protocol's classification questions as a form: one fieldset per question (radio buttons, or check boxes
// for multiple choice), filled from earlier answers, read back as the answers object the API takes. The
// annotator answers with it; the reviewer and the adjudicator set the final answer with it, each reader's
// answer listed under the question.
import { AnnotationType } from '../api';
import { h } from '../dom';

export type Question = Extract<AnnotationType, { kind: 'classification' }>;

export interface QuestionForm {
  /** The fieldsets, one per question. */
  fieldsets: HTMLFieldSetElement[];
  /** The answers picked: a choice per single-choice question, a list (maybe empty) per multiple-choice one. */
  values(): Record<string, unknown>;
  /** The required questions nobody answered yet. */
  missing(): string[];
  /** Checks the choices of these answers (others unchecked); questions they lack are left empty. */
  fill(from: Record<string, unknown> | null | undefined): void;
}

export const questionsOf = (types: AnnotationType[]): Question[] => types.filter((t): t is Question => t.kind === 'classification');

/** `note(q)` adds a line under a question (the model's suggestion, the readers' answers). */
export function questionForm(questions: Question[], prefix: string, onChange: () => void, note: (q: Question) => HTMLElement | null = () => null): QuestionForm {
  const rows = questions.map((q, qi) => {
    const inputs = q.choices.map((c) => h('input', { type: q.multiple ? 'checkbox' : 'radio', name: `${prefix}${qi}`, value: c, onchange: onChange }));
    const legend = `${q.question}${q.required === false ? ' (optional)' : ''}`;
    const fieldset = h('fieldset', null, h('legend', null, legend), ...inputs.map((input, i) => h('label', { class: 'choice' }, input, q.choices[i])), note(q)) as HTMLFieldSetElement;
    return { q, inputs, fieldset };
  });
  const picked = (inputs: HTMLInputElement[]) => inputs.filter((i) => i.checked).map((i) => i.value);
  return {
    fieldsets: rows.map((r) => r.fieldset),
    values() {
      const out: Record<string, unknown> = {};
      for (const { q, inputs } of rows) {
        const p = picked(inputs);
        if (q.multiple) out[q.question] = p;
        else if (p[0]) out[q.question] = p[0];
      }
      return out;
    },
    missing: () => rows.filter(({ q, inputs }) => q.required !== false && !picked(inputs).length).map(({ q }) => q.question),
    fill(from) {
      if (!from) return;
      for (const { q, inputs } of rows) {
        const v = from[q.question];
        const values = Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
        inputs.forEach((i) => (i.checked = values.includes(i.value)));
      }
    },
  };
}

/** "Reader 1: yes · Reader 2: no" (the answers as each reader gave them; "—" for none). */
export function answerText(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none of these';
  return value === undefined || value === null ? '—' : String(value);
}

import { AnswerError, checkQuestionAnswers, type QuestionSpec } from './answers';

const questions: QuestionSpec[] = [
  { question: 'Image quality', choices: ['Good', 'Poor'] },
  { question: 'Findings', choices: ['mass', 'calcification', 'none'], multiple: true },
];

describe('checkQuestionAnswers', () => {
  it.each<[string, Record<string, unknown>]>([
    ['one answer', { 'Image quality': 'Good' }],
    ['both, shapes alongside', { 'Image quality': 'Poor', Findings: ['mass', 'calcification'], shapes: [] }],
    ['an empty list for a multiple-choice question', { Findings: [] }],
    ['nothing answered yet', {}],
  ])('accepts %s', (_name, answers) => {
    expect(() => checkQuestionAnswers(answers, questions)).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, QuestionSpec[], string]>([
    ['an unknown question', { Quality: 'Good' }, questions, '1 answer is not valid: "Quality" is not a question of the protocol (its questions: "Image quality", "Findings")'],
    ['a protocol without questions', { Quality: 'Good' }, [], '"Quality" is not a question of the protocol (it has no questions)'],
    ['a value that is no choice', { 'Image quality': 'good' }, questions, '"Image quality": "good" is not one of its choices ("Good", "Poor")'],
    ['a list for a single choice', { 'Image quality': ['Good'] }, questions, '"Image quality": ["Good"] is not one of its choices ("Good", "Poor"); it takes one choice'],
    ['a number', { 'Image quality': 3 }, questions, '"Image quality": 3 is not one of its choices'],
    ['a single value for a multiple-choice question', { Findings: 'mass' }, questions, '"Findings" takes a list of choices (several may apply), got "mass"'],
    ['unknown choices in a list', { Findings: ['mass', 'cyst', 7] }, questions, '"Findings": "cyst", 7 are not choices (choices: "mass", "calcification", "none")'],
    ['a choice twice', { Findings: ['mass', 'mass'] }, questions, '"Findings" lists a choice twice'],
    ['several problems at once', { Quality: 'x', 'Image quality': 'x' }, questions, '2 answers are not valid: "Quality"'],
  ])('refuses %s', (_name, answers, qs, message) => {
    expect(() => checkQuestionAnswers(answers, qs)).toThrow(AnswerError);
    expect(() => checkQuestionAnswers(answers, qs)).toThrow(message);
  });
});

describe('checkQuestionAnswers of a final read (complete)', () => {
  const withOptional: QuestionSpec[] = [...questions, { question: 'Comment-worthy?', choices: ['yes', 'no'], required: false }];

  it.each<[string, Record<string, unknown>]>([
    ['every required question answered', { 'Image quality': 'Good', Findings: ['none'] }],
    ['an empty list for "none of these"', { 'Image quality': 'Good', Findings: [] }],
    ['an optional question left open', { 'Image quality': 'Good', Findings: ['mass'] }],
  ])('accepts %s', (_name, answers) => {
    expect(() => checkQuestionAnswers(answers, withOptional, { complete: true })).not.toThrow();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['nothing answered', {}, 'these questions are not answered: "Image quality" (choices: "Good", "Poor"), "Findings" (choices: "mass", "calcification", "none")'],
    ['one left open, shapes sent', { Findings: ['mass'], shapes: [] }, '1 answer is not valid: this question is not answered: "Image quality" (choices: "Good", "Poor")'],
    ['a bad value and a missing answer, both named', { 'Image quality': 'meh' }, '2 answers are not valid: "Image quality": "meh" is not one of its choices ("Good", "Poor"); this question is not answered: "Findings"'],
  ])('refuses %s', (_name, answers, message) => {
    expect(() => checkQuestionAnswers(answers, withOptional, { complete: true })).toThrow(message);
  });
});

describe('answer messages quote at most 100 characters of what was sent (a 2 MB key was echoed whole)', () => {
  it.each([
    ['a long key', { ['k'.repeat(2_000_000)]: 'yes' }],
    ['a long value', { 'Finding?': 'v'.repeat(2_000_000) }],
  ])('%s', (_name, answers) => {
    let message = '';
    try {
      checkQuestionAnswers(answers, [{ question: 'Finding?', choices: ['yes', 'no'] }]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/not (a question of the protocol|one of its choices)/);
    expect(message.length).toBeLessThan(400);
  });
});

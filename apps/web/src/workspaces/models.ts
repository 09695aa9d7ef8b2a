// The model registry for admins: every registered model with what it does, and a form to register one (the
// ONNX file and its manifest). The server validates the manifest and loads the model to compare its tensors
// with the manifest; a refusal shows every problem it names, so the author can fix the manifest at once.
import { api, session } from '../api';
import { errorText, h, statusLine } from '../dom';

type Manifest = { task?: string; description?: string; question?: string; appliesTo?: { modalities?: string[] }; labels?: { name: string }[]; inference?: { mode?: string } };

export async function modelsScreen(_: Record<string, string>, outlet: HTMLElement) {
  const admin = session.user?.roles.includes('admin');
  const status = statusLine();
  const table = h('table', { class: 'data models' });
  outlet.append(h('h1', null, 'Models'), h('p', { class: 'muted' }, 'ONNX models that pre-label tasks. A project chooses among them in its settings; see docs/models.md for the manifest.'), status, table);

  async function refresh() {
    try {
      const models = await api.models();
      table.replaceChildren(
        h('thead', null, h('tr', null, ...['Model', 'Task', 'Modalities', 'Outputs', 'Mode', 'Description'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          ...models.map((m) => {
            const manifest = m.manifest as Manifest;
            const outputs = manifest.task === 'classification' ? `“${manifest.question}”: ${(manifest.labels ?? []).map((l) => l.name).join(', ')}` : (manifest.labels ?? []).map((l) => l.name).join(', ');
            return h(
              'tr',
              { 'data-model': `${m.name} ${m.version}` },
              h('th', { scope: 'row' }, `${m.name} ${m.version}${m.builtin ? ' (built in)' : ''}`),
              h('td', null, manifest.task ?? ''),
              h('td', null, (manifest.appliesTo?.modalities ?? []).join(', ')),
              h('td', null, outputs),
              h('td', null, manifest.inference?.mode ?? ''),
              h('td', null, manifest.description ?? ''),
            );
          }),
        ),
      );
      if (!models.length) status.show('No models registered yet.');
    } catch (e) {
      status.show(errorText(e), 'error');
    }
  }
  await refresh();
  if (!admin) return;

  const file = h('input', { id: 'model-file', type: 'file', accept: '.onnx', required: true }) as HTMLInputElement;
  const manifestFile = h('input', { id: 'manifest-file', type: 'file', accept: '.json,application/json' }) as HTMLInputElement;
  const manifestText = h('textarea', { id: 'manifest-text', rows: '14', spellcheck: 'false', placeholder: '{ "schemaVersion": 1, "name": "…", … }' }) as HTMLTextAreaElement;
  manifestFile.addEventListener('change', async () => {
    const f = manifestFile.files?.[0];
    if (f) manifestText.value = await f.text();
  });
  const problems = h('ul', { class: 'problems', 'aria-label': 'Problems with the model' });
  const formStatus = statusLine();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Register model');
  const form = h(
    'form',
    {
      class: 'card register-model',
      'aria-label': 'Register a model',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        problems.replaceChildren();
        const onnx = file.files?.[0];
        if (!onnx) return formStatus.show('Choose the .onnx file.', 'error');
        try {
          JSON.parse(manifestText.value);
        } catch (err) {
          return formStatus.show(`The manifest is not JSON: ${(err as Error).message}`, 'error');
        }
        submit.disabled = true;
        formStatus.show('Checking the manifest and loading the model…');
        try {
          const model = await api.registerModel(onnx, manifestText.value);
          formStatus.show(`Registered ${model.name} ${model.version}.`, 'ok');
          form.reset();
          await refresh();
        } catch (err) {
          // The server lists every problem on a line of its own ("  - ..."): one list item each.
          const text = errorText(err);
          const [head, ...rest] = text.split(/\n\s*-\s*/);
          formStatus.show(head, 'error');
          problems.replaceChildren(...rest.map((p) => h('li', null, p)));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h2', null, 'Register a model'),
    h('div', { class: 'field' }, h('label', { for: 'model-file' }, 'ONNX file'), file),
    h('div', { class: 'field' }, h('label', { for: 'manifest-file' }, 'Manifest file (or paste it below)'), manifestFile),
    h('div', { class: 'field' }, h('label', { for: 'manifest-text' }, 'Manifest (JSON)'), manifestText),
    submit,
    formStatus,
    problems,
  );
  outlet.append(form);
}

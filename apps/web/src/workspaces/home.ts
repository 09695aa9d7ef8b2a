// Sign-in and the project list (each project with the workspaces the person's roles open).
import { api, session } from '../api';
import { errorText, h, statusLine } from '../dom';
import { navigate } from '../router';

export function loginScreen(_: Record<string, string>, outlet: HTMLElement) {
  const status = statusLine();
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        status.show('Signing in…');
        try {
          await api.login(username.value.trim(), password.value);
          const next = new URLSearchParams(location.search).get('next');
          navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
        } catch (err) {
          status.show(errorText(err), 'error');
          submit.disabled = false;
          password.select();
        }
      },
    },
    h('h1', null, 'Sign in to Contour'),
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    submit,
    status,
  );
  outlet.append(form);
  username.focus();
}

export async function homeScreen(_: Record<string, string>, outlet: HTMLElement) {
  const user = session.user!;
  const status = statusLine();
  const list = h('ul', { class: 'projects' });
  const admin = user.roles.includes('admin');
  // Managers and admins start projects here (they manage what they create: protocol, members, data in its dashboard).
  const creator = admin || user.roles.includes('manager');
  outlet.append(h('div', { class: 'page-head' }, h('h1', null, 'Projects'), creator ? newProjectForm() : null), status, list);
  try {
    const projects = await api.projects();
    if (!projects.length) status.show(creator ? 'No projects yet: start one with “New project”.' : 'You are not a member of any project yet. Ask a project manager to add you.');
    for (const p of projects) {
      const roles = p.myRoles ?? [];
      const links = [
        roles.includes('annotator') ? h('a', { class: 'button', href: `/projects/${p.id}/annotate` }, 'Annotate') : null,
        roles.includes('reviewer') ? h('a', { class: 'button', href: `/projects/${p.id}/review` }, 'Review') : null,
        roles.includes('manager') || admin ? h('a', { class: 'button', href: `/projects/${p.id}/manage` }, 'Manage') : null,
      ];
      list.append(
        h(
          'li',
          { class: 'card project' },
          h('h2', null, p.name),
          p.description ? h('p', null, p.description) : null,
          h('p', { class: 'muted' }, `Your roles: ${roles.length ? roles.join(', ') : admin ? 'admin' : 'none'}`),
          h('div', { class: 'row' }, ...links),
        ),
      );
    }
  } catch (e) {
    status.show(errorText(e), 'error');
  }
}

/** "New project": a name and an optional description; the new project's dashboard opens on success. */
function newProjectForm(): HTMLElement {
  const status = statusLine();
  const name = h('input', { id: 'new-project-name', name: 'name', required: true, maxlength: '200', autocomplete: 'off' });
  const description = h('input', { id: 'new-project-description', name: 'description', maxlength: '10000', autocomplete: 'off' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create');
  const form = h(
    'form',
    {
      class: 'card new-project',
      'aria-label': 'New project',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!name.value.trim()) return status.show('Give the project a name.', 'error');
        create.disabled = true;
        status.show('Creating the project…');
        try {
          const project = await api.createProject({ name: name.value.trim(), description: description.value.trim() || undefined });
          navigate(`/projects/${project.id}/manage`);
        } catch (err) {
          status.show(errorText(err), 'error');
          create.disabled = false;
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'new-project-name' }, 'New project'), name),
    h('div', { class: 'field' }, h('label', { for: 'new-project-description' }, 'Description (optional)'), description),
    create,
    status,
  );
  return form;
}

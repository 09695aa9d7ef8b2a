// The accounts of the deployment, for admins: who exists, with which system roles and skills, and whether they may
// sign in; a form to add someone (a first password the person is told out of band). Project roles are given in each
// project's dashboard (Setup -> Members). Every change is audited by the server.
import { api, User } from '../api';
import { errorText, h, statusLine } from '../dom';

const ROLES = ['admin', 'manager', 'annotator', 'reviewer'] as const;

/** Skills as typed ("neuro-mr, mammography"): lower-case tags, the form the server accepts. */
export const parseSkills = (text: string): string[] => [...new Set(text.split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean))];

export async function usersScreen(_: Record<string, string>, outlet: HTMLElement) {
  const status = statusLine();
  const table = h('table', { class: 'data users' });
  outlet.append(h('h1', null, 'Users'), h('p', { class: 'muted' }, 'System roles open the workspaces; what a person may do in a project is set by its managers (Setup → Members).'), newUserForm(refresh), status, table);

  function roleBoxes(prefix: string, checked: string[], who: string) {
    return h(
      'fieldset',
      { class: 'roles' },
      h('legend', { class: 'visually-hidden' }, `Roles of ${who}`),
      ...ROLES.map((r) => h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: `${prefix}-role`, value: r, checked: checked.includes(r) ? true : undefined }), r)),
    );
  }
  const checkedRoles = (scope: HTMLElement) => [...scope.querySelectorAll<HTMLInputElement>('input[type=checkbox][value]')].filter((c) => c.checked && (ROLES as readonly string[]).includes(c.value)).map((c) => c.value);

  async function refresh() {
    try {
      const users = (await api.users()) as (User & { active?: boolean })[];
      table.replaceChildren(
        h('caption', { class: 'visually-hidden' }, 'Users of this deployment'),
        h('thead', null, h('tr', null, ...['User', 'Display name', 'System roles', 'Skills', 'May sign in', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
        h('tbody', null, ...users.map((u) => row(u))),
      );
    } catch (e) {
      status.show(errorText(e), 'error');
    }
  }

  function row(u: User & { active?: boolean }) {
    const displayName = h('input', { value: u.displayName ?? '', 'aria-label': `Display name of ${u.username}`, maxlength: '200' }) as HTMLInputElement;
    const skills = h('input', { value: (u.skills ?? []).join(', '), 'aria-label': `Skills of ${u.username}` }) as HTMLInputElement;
    const active = h('input', { type: 'checkbox', checked: u.active !== false ? true : undefined, 'aria-label': `${u.username} may sign in` }) as HTMLInputElement;
    const roles = roleBoxes(`u-${u.id}`, u.roles, u.username);
    const save = h('button', { type: 'button', 'aria-label': `Save ${u.username}` }, 'Save');
    const tr = h('tr', { 'data-user': u.username }, h('th', { scope: 'row' }, u.username), h('td', null, displayName), h('td', null, roles), h('td', null, skills), h('td', null, active), h('td', null, save));
    save.addEventListener('click', async () => {
      const chosen = checkedRoles(roles);
      if (!chosen.length) return status.show(`${u.username} needs at least one system role.`, 'error');
      if (!displayName.value.trim()) return status.show(`${u.username} needs a display name.`, 'error');
      save.disabled = true;
      try {
        await api.updateUser(u.id, { displayName: displayName.value.trim(), roles: chosen, skills: parseSkills(skills.value), active: active.checked });
        status.show(`Saved ${u.username}${active.checked ? '' : ': they can no longer sign in, and their tokens stop working'}.`, 'ok');
      } catch (e) {
        status.show(errorText(e), 'error');
      } finally {
        save.disabled = false;
      }
    });
    return tr;
  }

  function newUserForm(done: () => Promise<void>) {
    const formStatus = statusLine();
    const username = h('input', { id: 'new-username', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9._\\-]{2,64}', title: '2-64 letters, digits, ".", "_" or "-"' }) as HTMLInputElement;
    const displayName = h('input', { id: 'new-display-name', autocomplete: 'off', maxlength: '200' }) as HTMLInputElement;
    const password = h('input', { id: 'new-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' }) as HTMLInputElement;
    const roles = roleBoxes('new', ['annotator'], 'the new user');
    const add = h('button', { type: 'submit', class: 'primary' }, 'Add user');
    const form = h(
      'form',
      {
        class: 'card new-user',
        'aria-label': 'Add a user',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const chosen = checkedRoles(roles);
          if (!chosen.length) return formStatus.show('Give the new user at least one system role.', 'error');
          add.disabled = true;
          try {
            const user = await api.createUser({ username: username.value.trim(), displayName: displayName.value.trim() || undefined, password: password.value, roles: chosen });
            formStatus.show(`Added ${user.username}. Tell them their password; managers can now add them to projects.`, 'ok');
            form.reset();
            roles.querySelector<HTMLInputElement>('input[value="annotator"]')!.checked = true;
            await done();
          } catch (err) {
            formStatus.show(errorText(err), 'error');
          } finally {
            add.disabled = false;
          }
        },
      },
      h('h2', null, 'Add a user'),
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'new-username' }, 'Username'), username),
        h('div', { class: 'field' }, h('label', { for: 'new-display-name' }, 'Display name (optional)'), displayName),
        h('div', { class: 'field' }, h('label', { for: 'new-password' }, 'First password (8 characters or more)'), password),
      ),
      roles,
      add,
      formStatus,
    ) as HTMLFormElement;
    return form;
  }

  await refresh();
}

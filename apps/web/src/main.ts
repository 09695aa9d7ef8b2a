// Entry point: the app shell (header, navigation, sign-out) and the routes of the three workspaces.
import './styles.css';
import { api, session } from './api';
import { h, replace } from './dom';
import { projectNavLinks } from './project-nav';
import { currentPath, navigate, route, startRouter } from './router';
import { annotatorInbox, annotatorWorkspace } from './workspaces/annotator';
import { homeScreen, loginScreen } from './workspaces/home';
import { managerDashboard } from './workspaces/manager';
import { modelsScreen } from './workspaces/models';
import { usersScreen } from './workspaces/users';
import { reviewerQueue, reviewerWorkspace } from './workspaces/reviewer';

const app = document.getElementById('app')!;
const userBox = h('div', { class: 'user' });
const nav = h('nav', { 'aria-label': 'Main' });
const header = h('header', { class: 'app-header' }, h('a', { href: '/', class: 'brand' }, h('span', { 'aria-hidden': 'true', class: 'logo' }, '◐'), ' Contour'), nav, userBox);
const main = h('main', { id: 'main', tabindex: '-1' });
app.append(header, main);

let headerRender = 0;
function renderHeader(path: string) {
  const render = ++headerRender;
  const user = session.user;
  replace(userBox);
  replace(nav);
  if (!user) return;
  const m = path.match(/^\/projects\/([^/]+)/);
  const admin = user.roles.includes('admin');
  if (!m && admin) {
    nav.append(
      h('a', { href: '/', 'aria-current': path === '/' ? 'page' : undefined }, 'Projects'),
      h('a', { href: '/models', 'aria-current': path === '/models' ? 'page' : undefined }, 'Models'),
      h('a', { href: '/users', 'aria-current': path === '/users' ? 'page' : undefined }, 'Users'),
    );
  }
  if (m) {
    const pid = m[1];
    nav.append(h('a', { href: '/' }, 'Projects'));
    // Only the workspaces the caller may open in this project (their roles there, as the project list gives them).
    void rolesIn(pid).then((roles) => {
      if (render !== headerRender) return;
      nav.append(...projectNavLinks(pid, user.roles, roles).map(([href, text]) => h('a', { href, 'aria-current': path.startsWith(href) ? 'page' : undefined }, text)));
    });
  }
  userBox.append(
    h('span', { class: 'who' }, `${user.username} (${user.roles.join(', ')})`),
    h('button', {
      type: 'button',
      onclick: async () => {
        await api.logout();
        navigate('/login');
      },
    }, 'Sign out'),
  );
}

/** The caller's roles in each project (null: not a member), kept per user; a project not in it is asked for again. */
let projectRoles: { userId: string; byProject: Map<string, string[] | null> } | null = null;
async function rolesIn(projectId: string): Promise<string[] | null> {
  const userId = session.user?.id ?? '';
  if (projectRoles?.userId !== userId || !projectRoles.byProject.has(projectId)) {
    try {
      const list = await api.projects();
      projectRoles = { userId, byProject: new Map(list.map((p) => [p.id, p.myRoles] as const)) };
    } catch {
      return null;
    }
  }
  return projectRoles.byProject.get(projectId) ?? null;
}

session.onUnauthorized(() => {
  if (currentPath() !== '/login') navigate(`/login?next=${encodeURIComponent(currentPath())}`, true);
});

route('/login', loginScreen);
route('/', homeScreen);
route('/projects/:projectId/annotate', annotatorInbox);
route('/projects/:projectId/annotate/:taskId/:readId', annotatorWorkspace);
route('/projects/:projectId/review', reviewerQueue);
route('/projects/:projectId/review/:taskId/:readId', reviewerWorkspace);
route('/projects/:projectId/manage', managerDashboard);
route('/models', modelsScreen);
route('/users', usersScreen);

startRouter(main, {
  guard: (path) => (!session.token && path !== '/login' ? `/login` : null),
  onNavigate: (path) => {
    renderHeader(path);
    document.title = titleFor(path);
  },
});

function titleFor(path: string) {
  if (path.includes('/annotate/')) return 'Annotate · Contour';
  if (path.endsWith('/annotate')) return 'My tasks · Contour';
  if (path.includes('/review')) return 'Review · Contour';
  if (path.includes('/manage')) return 'Project dashboard · Contour';
  if (path === '/models') return 'Models · Contour';
  if (path === '/users') return 'Users · Contour';
  if (path === '/login') return 'Sign in · Contour';
  return 'Projects · Contour';
}

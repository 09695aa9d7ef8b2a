// A tiny history router: paths map to screens; each screen gets the path parameters and returns a cleanup.
export type Screen = (params: Record<string, string>, outlet: HTMLElement) => void | (() => void) | Promise<void | (() => void)>;

interface Route {
  pattern: RegExp;
  keys: string[];
  screen: Screen;
}

const routes: Route[] = [];
let cleanup: (() => void) | void = undefined;
let outletEl: HTMLElement;
let guard: (path: string) => string | null = () => null;
let onNavigate: (path: string) => void = () => undefined;

export function route(path: string, screen: Screen) {
  const keys: string[] = [];
  const pattern = new RegExp(`^${path.replace(/:(\w+)/g, (_, k: string) => (keys.push(k), '([^/]+)'))}/?$`);
  routes.push({ pattern, keys, screen });
}

export function startRouter(outlet: HTMLElement, opts: { guard?: (path: string) => string | null; onNavigate?: (path: string) => void } = {}) {
  outletEl = outlet;
  if (opts.guard) guard = opts.guard;
  if (opts.onNavigate) onNavigate = opts.onNavigate;
  window.addEventListener('popstate', () => void render());
  // Same-origin links navigate inside the app.
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('/api')) return;
    e.preventDefault();
    navigate(href);
  });
  void render();
}

export function navigate(path: string, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

export function currentPath() {
  return location.pathname;
}

let generation = 0;

async function render() {
  const mine = ++generation;
  const path = location.pathname;
  const redirect = guard(path);
  if (redirect && redirect !== path) return navigate(redirect, true);
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  outletEl.replaceChildren();
  onNavigate(path);
  for (const r of routes) {
    const m = path.match(r.pattern);
    if (!m) continue;
    const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
    const done = await r.screen(params, outletEl);
    // A later navigation finished first: this screen is already gone.
    if (mine !== generation) {
      if (typeof done === 'function') done();
    } else cleanup = done;
    return;
  }
  outletEl.append(Object.assign(document.createElement('p'), { textContent: 'This page does not exist.' }));
}

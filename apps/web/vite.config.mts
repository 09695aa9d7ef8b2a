// Builds the browser app (annotator, reviewer and manager workspaces) to static files that the coordinator
// serves at /. Everything is bundled: the app must work offline (no CDN, no web fonts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../../dist/apps/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // NiiVue is one large module (~3 MB unminified); it is the viewer, not an accident.
    chunkSizeWarningLimit: 4096,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:3000', '/dicom-web': 'http://127.0.0.1:3000' },
  },
});

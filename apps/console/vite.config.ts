import { defineConfig } from 'vite';

/**
 * The console builds to static files under dist/, served by the control plane at /console.
 * Everything is an external file (no inline script or style) so the page runs under a strict
 * Content-Security-Policy (script-src 'self'; style-src 'self').
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
    // The budget that counts is 300 KiB gzipped for the initial load (npm run bench checks it).
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // React Query marks its hooks "use client" for server-component bundlers; a plain
      // browser bundle has nothing to preserve.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});

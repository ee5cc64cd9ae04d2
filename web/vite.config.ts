// Vite build and dev-server config for the reuse-chat web client (deterministic bundle in dist/).
/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// Node's process, typed here so the config type-checks without @types/node.
declare const process: { env: Record<string, string | undefined> };

const backend = 'http://127.0.0.1:8070';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none' },
  base: '/',
  build: {
    outDir: process.env.REUSE_WEB_OUT_DIR || 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/room': backend,
      '/chat': backend,
      '/client': backend,
      '/user/blocks': backend,
      '/report': backend,
      '/push': backend,
      '/search': backend,
      '/ws-stomp': { target: backend, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});

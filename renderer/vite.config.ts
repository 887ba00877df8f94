// Builds the dashboard into renderer/dist, which the Electron app protocol and web mode serve.
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const root = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root,
  // Relative asset URLs: the same build loads from app://chaoscope/ and from web mode's origin.
  base: './',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    // The CSP forbids inline script; Vite's module preload polyfill would be inline.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: { host: '127.0.0.1' },
});

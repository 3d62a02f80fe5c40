import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The renderer bundle: loaded from file:// by Electron, so asset paths are relative. */
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true, target: 'chrome140' },
});

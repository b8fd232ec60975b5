// Builds the cashier and the console into ../web-dist (served by src/web at /cashier/:id, /console
// and /ui/assets/*). JSX goes through Vite's own Oxc transform with React's automatic runtime.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: here('../web-dist'),
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: { input: { cashier: here('cashier/index.html'), console: here('console/index.html') } },
  },
});

import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the same build works at / and behind a path prefix.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    port: 5173,
    strictPort: false,
  },
  preview: {
    port: 8080,
    strictPort: true,
  },
  test: {
    include: ['test/**/*.test.js'],
    environment: 'node',
  },
});

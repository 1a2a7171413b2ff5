import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The dev server forwards API calls to a running node (CHORUS_DEV_TARGET,
// default http://localhost:8081, the first node of `make demo`), so the
// dashboard is developed against a real cluster. The production build is
// served by chorusd itself.
const target = process.env.CHORUS_DEV_TARGET ?? 'http://localhost:8081';
const proxied = { target, changeOrigin: true };

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    port: Number(process.env.CHORUS_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: {
      '/api': proxied,
      '/gossip': proxied,
      '/health': proxied,
      '/metrics': proxied,
      '/ws': { target, changeOrigin: true, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    watch: false,
  },
});

// Bundles the pages (src/ui/pages/, TypeScript) into the one script they load, assets/app.js,
// with what they share with the CLI (the run statuses, formatDuration) compiled in. htm with
// Preact and uPlot stay files of their own in assets/vendor/ (see copy-assets.ts). The
// browser code is type-checked apart first: `tsc -p src/ui/pages` (it has the DOM's types).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../../', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['src/ui/pages/main.ts'],
  outfile: 'dist/src/ui/assets/app.js',
  bundle: true,
  format: 'esm',
  // import.meta.url (where uPlot is loaded from) and the rest of ES2022 run as written.
  target: 'es2022',
  // The vendored library is imported as the file beside app.js, not bundled.
  external: ['./vendor/*'],
  minify: true,
  // A strict CSP: one file, no eval, nothing inline; no source map to fetch.
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});

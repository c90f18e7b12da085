// The files a build carries beside the compiled code: the module spawner (Python) and the
// web UI's assets, with the libraries the pages use copied from node_modules, so that
// nothing is fetched when the UI runs (it works offline, with no CDN). The pages' own
// script, assets/app.js, is bundled from src/ui/pages/ by bundle-pages.ts.
import { copyFileSync, cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const copies: Array<[string, string]> = [
  ['src/runner/spawner.py', 'dist/src/runner/spawner.py'],
  ['src/ui/assets', 'dist/src/ui/assets'],
  // htm with Preact and its hooks in one ES module (13 KB, 5 KB gzipped).
  ['node_modules/htm/preact/standalone.module.js', 'dist/src/ui/assets/vendor/htm-preact.js'],
  // uPlot for the charts (22 KB gzipped), loaded by a page only when it draws one.
  ['node_modules/uplot/dist/uPlot.iife.min.js', 'dist/src/ui/assets/vendor/uPlot.iife.min.js'],
  ['node_modules/uplot/dist/uPlot.min.css', 'dist/src/ui/assets/vendor/uPlot.min.css'],
];
for (const [from, to] of copies) {
  mkdirSync(dirname(join(root, to)), { recursive: true });
  if (from.endsWith('assets')) cpSync(join(root, from), join(root, to), { recursive: true });
  else copyFileSync(join(root, from), join(root, to));
}

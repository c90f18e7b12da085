// htm with Preact, for every page: one import of the vendored file in the bundle.
export { html, type Rendered, render, useEffect, useRef, useState } from './vendor/htm-preact.js';

// A static report's pages, opened from disk (file://), cannot run: the browser refuses the
// page's module script and its data there. This plain script still runs, and says how to
// serve the report instead of leaving "Loading…" on the page.
if (location.protocol === 'file:') {
  const root = document.querySelector('meta[name="etl-report-root"]')?.content ?? './';
  const rootPath = new URL(root, location.href).pathname;
  const folder = decodeURIComponent(rootPath).replace(/\/$/, '');
  const here = location.pathname.slice(rootPath.length).replace(/index\.html$/, '');
  const quoted = `'${folder.replace(/'/g, "'\\''")}'`;
  const say = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
  const notice = document.createElement('div');
  notice.className = 'from-disk';
  notice.setAttribute('role', 'alert');
  notice.append(
    say('h1', 'Serve this report to read it'),
    say(
      'p',
      'It was opened from disk (file://), where the browser does not let its pages load their script and data. Serve its folder with any static web server, for example:',
    ),
    say('pre', `python3 -m http.server -d ${quoted} 8000`),
    say('p', `then open http://localhost:8000/${here}`),
  );
  document.getElementById('app').replaceChildren(notice);
}

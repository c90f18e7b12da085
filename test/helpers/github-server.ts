import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fixture } from './repo.js';

interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
  requestBody: { required: boolean; schema: unknown } | null;
  success: { status: number; example: unknown };
}

export interface Recorded {
  operationId: string;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GitHubServer {
  url: string;
  requests: Recorded[];
  /** Every way a request broke GitHub's OpenAPI description: must stay empty. */
  violations: string[];
  /** Answers an operation with a handler instead of the spec's example. */
  on(operationId: string, handler: (request: Recorded) => Reply | undefined): void;
}

const spec = JSON.parse(readFileSync(fixture('github-openapi.json'), 'utf8')) as { operations: Operation[] };
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => void }).default ?? addFormatsModule;

/**
 * A GitHub API on 127.0.0.1 that checks each request's method, path, parameters and body
 * against GitHub's OpenAPI description (test/fixtures/github-openapi.json) and answers with
 * the spec's examples, or what a test's handler says.
 */
export async function startGitHubServer(t: TestContext): Promise<GitHubServer> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const routes = spec.operations.map((op) => ({
    op,
    pattern: new RegExp(`^${op.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
    body: op.requestBody ? ajv.compile(op.requestBody.schema as object) : undefined,
    params: new Map(op.parameters.map((p) => [`${p.in}:${p.name}`, { ...p, check: ajv.compile(p.schema as object) }])),
  }));
  const handlers = new Map<string, (request: Recorded) => Reply | undefined>();
  const requests: Recorded[] = [];
  const violations: string[] = [];

  const server = createServer(async (req, res) => {
    const send = ({ status, body, headers }: Reply) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes.find((r) => r.op.method === req.method && r.pattern.test(url.pathname));
    if (!route) {
      violations.push(`${req.method} ${url.pathname}: no such operation in GitHub's API description`);
      return send({ status: 404, body: { message: 'Not Found' } });
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      violations.push(`${route.op.operationId}: the body is not JSON`);
    }
    const request: Recorded = {
      operationId: route.op.operationId,
      method: req.method!,
      path: url.pathname,
      params: { ...route.pattern.exec(url.pathname)!.groups },
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: req.headers.authorization,
    };
    requests.push(request);
    const problems: string[] = [];
    for (const [where, values] of [
      ['path', request.params],
      ['query', request.query],
    ] as const) {
      for (const [name, value] of Object.entries(values)) {
        const param = route.params.get(`${where}:${name}`);
        if (!param) {
          problems.push(`unknown ${where} parameter "${name}"`);
          continue;
        }
        const typed = /^-?\d+$/.test(value) && !param.check(value) ? Number(value) : value;
        if (!param.check(typed))
          problems.push(`${where} parameter ${name}=${value}: ${ajv.errorsText(param.check.errors)}`);
      }
    }
    for (const param of route.params.values()) {
      if (
        param.required &&
        (param.in === 'path' ? request.params : param.in === 'query' ? request.query : {})[param.name] === undefined &&
        param.in !== 'header'
      ) {
        problems.push(`missing required ${param.in} parameter ${param.name}`);
      }
    }
    if (route.body) {
      if (body === undefined && route.op.requestBody?.required) problems.push('missing request body');
      else if (body !== undefined && !route.body(body)) problems.push(`body: ${ajv.errorsText(route.body.errors)}`);
    }
    if (problems.length) {
      violations.push(...problems.map((p) => `${route.op.operationId}: ${p}`));
      return send({ status: 422, body: { message: 'Validation Failed', errors: problems } });
    }
    const reply = handlers.get(route.op.operationId)?.(request) ?? {
      status: route.op.success.status,
      body: route.op.success.status === 204 ? undefined : route.op.success.example,
    };
    send(reply);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, violations, on: (id, handler) => handlers.set(id, handler) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => resolve(data));
  });
}

/** Issues and comments kept in memory, served in the shapes of the API description. */
export function issueTracker(github: GitHubServer) {
  const issues: Array<{
    number: number;
    title: string;
    body: string;
    state: string;
    labels: string[];
    comments: string[];
  }> = [];
  const comments: Array<{ id: number; issue: number; body: string }> = [];
  const asIssue = (i: (typeof issues)[number]) => ({
    id: i.number * 10,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    labels: i.labels.map((name) => ({ name })),
    html_url: `https://github.com/office/pipelines/issues/${i.number}`,
  });
  github.on('issues/list-for-repo', (r) => ({
    status: 200,
    body: issues
      .filter((i) => i.state === r.query.state && (!r.query.labels || i.labels.includes(r.query.labels)))
      .map(asIssue),
  }));
  github.on('issues/create', (r) => {
    const body = r.body as { title: string; body: string; labels: string[] };
    const issue = {
      number: issues.length + 1,
      title: body.title,
      body: body.body,
      state: 'open',
      labels: body.labels,
      comments: [],
    };
    issues.push(issue);
    return { status: 201, body: asIssue(issue) };
  });
  github.on('issues/update', (r) => {
    const issue = issues.find((i) => i.number === Number(r.params.issue_number))!;
    Object.assign(issue, r.body);
    return { status: 200, body: asIssue(issue) };
  });
  github.on('issues/list-comments', (r) => ({
    status: 200,
    body: comments.filter((c) => c.issue === Number(r.params.issue_number)).map((c) => ({ id: c.id, body: c.body })),
  }));
  github.on('issues/create-comment', (r) => {
    const comment = {
      id: 1000 + comments.length,
      issue: Number(r.params.issue_number),
      body: (r.body as { body: string }).body,
    };
    comments.push(comment);
    issues.find((i) => i.number === comment.issue)?.comments.push(comment.body);
    return { status: 201, body: { id: comment.id, body: comment.body } };
  });
  github.on('issues/update-comment', (r) => {
    const comment = comments.find((c) => c.id === Number(r.params.comment_id))!;
    comment.body = (r.body as { body: string }).body;
    return { status: 200, body: { id: comment.id, body: comment.body } };
  });
  return { issues, comments };
}

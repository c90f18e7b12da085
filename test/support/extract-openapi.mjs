#!/usr/bin/env node
// Regenerates test/fixtures/github-openapi.json: the operations of GitHub's REST API that
// etl-ledger calls, cut out of GitHub's published OpenAPI description (dereferenced), so the
// loopback server in the tests can check every request against the real spec without the
// 385 MB package in node_modules:
//
//   npm install --no-save @octokit/openapi@23 && node test/support/extract-openapi.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const OPERATIONS = [
  ['post', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches'],
  ['get', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs'],
  ['get', '/repos/{owner}/{repo}/actions/runs/{run_id}'],
  ['get', '/repos/{owner}/{repo}/issues'],
  ['post', '/repos/{owner}/{repo}/issues'],
  ['patch', '/repos/{owner}/{repo}/issues/{issue_number}'],
  ['get', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  ['post', '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
  ['patch', '/repos/{owner}/{repo}/issues/comments/{comment_id}'],
];

const require = createRequire(import.meta.url);
const path = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
const spec = JSON.parse(readFileSync(path, 'utf8'));
const version = JSON.parse(readFileSync(require.resolve('@octokit/openapi/package.json'), 'utf8')).version;

// Ajv reads `nullable` only beside a `type`; the spec has a few without one.
const clean = (schema) =>
  JSON.parse(JSON.stringify(schema ?? null), (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && value.nullable && !('type' in value)) {
      const { nullable: _drop, ...rest } = value;
      return rest;
    }
    return value;
  });

const operations = OPERATIONS.map(([method, route]) => {
  const op = spec.paths[route]?.[method];
  if (!op) throw new Error(`the spec has no ${method.toUpperCase()} ${route}`);
  const [status, response] = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
  return {
    method: method.toUpperCase(),
    path: route,
    operationId: op.operationId,
    parameters: (op.parameters ?? []).map((p) => ({
      name: p.name,
      in: p.in,
      required: Boolean(p.required),
      schema: clean(p.schema),
    })),
    requestBody: op.requestBody
      ? { required: Boolean(op.requestBody.required), schema: clean(op.requestBody.content['application/json'].schema) }
      : null,
    success: {
      status: Number(status),
      example: response.content?.['application/json']?.examples?.default?.value ?? null,
    },
  };
});

const out = new URL('../fixtures/github-openapi.json', import.meta.url);
writeFileSync(
  out,
  `${JSON.stringify({ source: `@octokit/openapi ${version} generated/api.github.com.deref.json`, operations }, null, 2)}\n`,
);
console.log(`wrote ${operations.length} operations from @octokit/openapi ${version}`);

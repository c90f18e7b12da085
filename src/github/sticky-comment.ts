import { callGitHub, type GitHub } from './client.js';

/**
 * Posts a comment on a pull request, or updates the one posted before (found by a hidden
 * marker), so a pull request carries one up-to-date comment however often it is pushed to.
 */
export async function upsertStickyComment(
  github: GitHub,
  pullRequest: number,
  key: string,
  body: string,
): Promise<{ action: 'created' | 'updated'; id: number }> {
  const { octokit, owner, repo } = github;
  const marker = `<!-- etl-ledger:${key} -->`;
  const comments = await callGitHub(github, `list the comments of #${pullRequest}`, () =>
    octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: pullRequest, per_page: 100 }),
  );
  const mine = comments.find((c) => c.body?.includes(marker));
  const text = `${marker}\n${body}`;
  if (mine) {
    await callGitHub(github, `update comment ${mine.id}`, () =>
      octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: text }),
    );
    return { action: 'updated', id: mine.id };
  }
  const created = await callGitHub(github, `comment on #${pullRequest}`, () =>
    octokit.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body: text }),
  );
  return { action: 'created', id: created.data.id };
}

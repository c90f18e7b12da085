// GitHub's workflow parser imports a .json file without `with { type: "json" }`, which Node
// refuses; this load hook adds the attribute (tests only).
export async function load(url, context, next) {
  if (url.endsWith('.json') && !context.importAttributes?.type) {
    return next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
  }
  return next(url, context);
}

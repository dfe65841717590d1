// A small "application" for the browser test: bundled and minified by esbuild, with a source
// map, so the test can check that Beacon maps the minified frames back to these lines.
export function computeTotal(items) {
  return items.reduce((sum, item) => sum + item.price.amount, 0);
}

export function onCheckout() {
  const items = [{ price: { amount: 5 } }, { name: "no price" }];
  return computeTotal(items);
}

export async function loadProfile() {
  throw new Error("profile service unavailable");
}

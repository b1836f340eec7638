import { api } from './api.js';

// The apps and environments that exist, for choosing a scope, environments and filters (free entry stays allowed).
export const catalog = { apps: [], products: [], envs: [] };

export async function loadCatalog() {
  const [apps, products] = await Promise.all([
    api('GET', '/v1/apps').catch(() => ({ items: [] })),
    api('GET', '/v1/products').catch(() => ({ items: [] })),
  ]);
  catalog.apps = (apps?.items ?? []).slice().sort((a, b) => a.access_tag.localeCompare(b.access_tag));
  catalog.products = products?.items ?? [];
  const envs = new Set();
  for (const app of catalog.apps) for (const env of app.envs ?? []) envs.add(env.slug);
  for (const product of catalog.products) for (const env of product.envs ?? []) envs.add(env.slug);
  catalog.envs = [...envs].sort();
  return catalog;
}

// Service worker of the pass verification page: keeps the page, its scripts and styles, the public keys
// and the revocation list, so that a checkpoint tablet verifies passes with the network cut. The JSON
// documents are fetched from the network first (fresh revocations) and fall back to the kept copy.
const CACHE = "fk-passes-v1";
const SHELL = ["/passes/verify", "/passes/assets/verify.js", "/passes/assets/pass.js", "/passes/assets/pass.css",
               "/static/app.css", "/passes/keys.json", "/passes/revoked.json"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    // Only this worker's own older caches: the field app's worker (scope /) keeps "fk-field-*" ones.
    .then((names) => Promise.all(names.filter((n) => n.startsWith("fk-passes-") && n !== CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

function kept(request) {
  const url = new URL(request.url);
  return url.origin === self.location.origin && SHELL.includes(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !kept(request)) return;
  const path = new URL(request.url).pathname;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.ok) await cache.put(path, response.clone());
      return response;
    } catch (error) {
      const copy = await cache.match(path);
      if (!copy) throw error;
      // Tell the page this answer is the kept copy (it shows the age of its keys and revocation list).
      const headers = new Headers(copy.headers);
      headers.set("x-fk-offline", "1");
      return new Response(copy.body, { status: copy.status, statusText: copy.statusText, headers });
    }
  })());
});

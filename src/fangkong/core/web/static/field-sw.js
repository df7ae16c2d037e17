// Service worker of the field pages (issue 20). `FIELD` (pages, lookups, version) is written above this
// line by the server from the capabilities' declarations.
//
// - Field pages (the checkpoint form, leads, the follow-up round): network first; the copy last seen online
//   answers when the network is down. Submissions do not pass through here: the page queues them in
//   IndexedDB (field.js) and sends them when the network returns.
// - Lookups (risk areas, pass keys and revocations): network first, the kept copy offline, stamped with the
//   time it was fetched so the page can show its age.
// - /static/ and the manifest: network first too (fresh after a deploy), the kept copy offline.
// Only caches named "fk-field-*" are ever deleted here: the passes worker keeps its own.
const PAGES = "fk-field-pages-" + FIELD.version;
const LOOKUPS = "fk-field-lookups";  // kept across versions: a lookup's age is its own
const STATIC = "fk-field-static-" + FIELD.version;
const SHELL = ["/static/app.css", "/static/field.js", "/static/vendor/htmx.min.js", "/manifest.webmanifest",
               "/static/icons/icon-192.png"];

function under(path, prefix) {
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(STATIC);
    await Promise.all(SHELL.map((url) => cache.add(url).catch(() => null)));  // htmx may not be vendored
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = [PAGES, LOOKUPS, STATIC];
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("fk-field-") && !keep.includes(n)).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheName, stamp) {
  const cache = await caches.open(cacheName);
  const key = new URL(request.url).pathname + new URL(request.url).search;
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) {
      const headers = new Headers(response.headers);
      if (stamp) headers.set("x-fk-fetched", new Date().toISOString());
      const body = await response.clone().blob();
      await cache.put(key, new Response(body, { status: response.status, headers }));
    }
    return response;
  } catch (error) {
    const copy = await cache.match(key);
    if (!copy) return offlinePage();
    const headers = new Headers(copy.headers);
    headers.set("x-fk-offline", "1");
    return new Response(copy.body, { status: copy.status, headers });
  }
}

function offlinePage() {
  const html = '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    '<link rel="stylesheet" href="/static/app.css"><main class="page"><h1>离线 · Offline</h1>' +
    '<p>这一页还没有在联网时打开过，离线时无法显示。Open this page once while online to use it offline.</p>' +
    '<p><a href="/">首页 · Home</a></p></main>';
  return new Response(html, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || under(url.pathname, "/passes/verify")) return;
  if (FIELD.lookups.includes(url.pathname)) {
    event.respondWith(networkFirst(request, LOOKUPS, true));
  } else if (request.mode === "navigate" && FIELD.pages.some((p) => under(url.pathname, p))) {
    event.respondWith(networkFirst(request, PAGES, false));
  } else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(networkFirst(request, STATIC, false));  // fresh after a deploy, the kept copy offline
  }
});

// Logging out clears the kept pages (they hold personal data); the queue is kept until it is sent.
self.addEventListener("message", (event) => {
  if (event.data === "logout") event.waitUntil(caches.delete(PAGES));
});

// Sala door scanner: service worker (scope /staff/checkin/). Made by the server with the
// list of files to keep; the cache name changes whenever one of them changes.
// The scanner pages are kept too (network first), so a page opened once reloads offline —
// until the server turns this login away: then the copies of the pages and the check-in
// lists (names) are deleted; the queue of unsent scans stays (see static/js/checkin/store.js).
const CACHE = "{{ cache_name }}";
const ASSETS = {{ assets }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("sala-checkin-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

/** The login ended (a redirect to the login page) or this account may not see the page. */
const turnedAway = (response) =>
  response.type === "opaqueredirect" || response.redirected || response.status === 401 || response.status === 403;

async function forgetPages() {
  for (const name of await caches.keys()) {
    if (!name.startsWith("sala-checkin-")) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      if (new URL(request.url).pathname.startsWith("/staff/")) await cache.delete(request);
    }
  }
}

/** Empty the scanner's "lists" store (names), leaving its "queue" alone. A phone that never
 *  opened the scanner has no database: none is made here. */
function forgetLists() {
  return new Promise((resolve) => {
    const request = indexedDB.open("sala-checkin");
    request.onupgradeneeded = () => request.transaction.abort();
    request.onerror = () => resolve();
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("lists")) {
        db.close();
        resolve();
        return;
      }
      const tx = db.transaction("lists", "readwrite");
      tx.objectStore("lists").clear();
      tx.oncomplete = tx.onerror = tx.onabort = () => {
        db.close();
        resolve();
      };
    };
  });
}

// The login page asks (static/js/forget-names.js): whoever logged out, on whatever page, the
// names this phone kept for the door go now, not when the scanner is next opened.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "forget-names") {
    event.waitUntil(Promise.all([forgetLists(), forgetPages()]));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate" && url.pathname.startsWith("/staff/checkin/")) {
    // The scanner page: fresh when the network answers, the last copy when it does not.
    event.respondWith(
      fetch(request)
        .then(async (response) => {
          if (turnedAway(response)) {
            await Promise.all([forgetPages(), forgetLists()]).catch(() => {});
          } else if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
          }
          return response;
        })
        .catch(() => caches.match(url.pathname).then((hit) => hit || Response.error())),
    );
  }
});

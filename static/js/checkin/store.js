// What the scanner keeps on the phone: each session's check-in list and the queue of scans
// made offline (IndexedDB; each scan with the scan_id the server deduplicates on), the
// service worker's copies of the scanner pages (Cache Storage), and a marker of whose login
// the lists belong to (a cookie).
//
// The names in a list may be shown only while the phone knows the login that fetched them
// is still valid, and never after the list expires:
// - Every answer of the server to this login renews the marker, for as long as the login
//   cookie itself lasts without contact (12 hours, sala/app.py STAFF_LOGIN_HOURS): the
//   browser deletes the marker when that time is up. Logging out deletes it (the logout
//   answer deletes the cookie, on any staff page), and so does a 401 or 403.
// - A list expires 12 hours after its session ends (``expires_at``, from the server).
// Logging out, or a 401/403, deletes every list and the cached staff pages at once
// (forgetNames). The queue of unsent scans is never deleted that way: it is sent after the
// next login.

const DB_NAME = "sala-checkin";
const DB_VERSION = 1;
const LOGIN_COOKIE = "sala_scanner";
const LOGIN_PATH = "/staff/checkin/";
export const LOGIN_SECONDS = 12 * 3600; // as long as the login cookie lasts (sala/app.py)
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("lists", { keyPath: "session_id" });
        const queue = db.createObjectStore("queue", { keyPath: "scan_id" });
        queue.createIndex("session_id", "session_id");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const result = work(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// ---------------------------------------------------------------------------- the login

/** The staff id whose login the phone still trusts, or null. */
export function loggedInAs() {
  const pair = document.cookie.split("; ").find((c) => c.startsWith(LOGIN_COOKIE + "="));
  return pair ? decodeURIComponent(pair.slice(LOGIN_COOKIE.length + 1)) || null : null;
}

/** The server just answered this login: trust it for as long as the login cookie lasts. */
export function rememberLogin(staffId) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${LOGIN_COOKIE}=${encodeURIComponent(String(staffId))}; Max-Age=${LOGIN_SECONDS}; ` +
    `Path=${LOGIN_PATH}; SameSite=Strict${secure}`;
}

function forgetLogin() {
  document.cookie = `${LOGIN_COOKIE}=; Max-Age=0; Path=${LOGIN_PATH}; SameSite=Strict`;
}

// ---------------------------------------------------------------------------- lists

const expired = (list, now = Date.now()) => !(Date.parse(list.expires_at) > now);

/** May these names be shown? Only for the login still trusted, and before the list expires. */
export function usable(list) {
  if (!list || expired(list)) return false;
  const staffId = loggedInAs();
  return staffId !== null && staffId === String(list.staff_id);
}

/** The session's list, if it may still be shown; an unusable one is deleted. */
export async function getList(sessionId) {
  const list = await run("lists", "readonly", (s) => s.get(sessionId));
  if (list && usable(list)) return list;
  if (list) await forgetList(sessionId);
  return null;
}

/** Keep a list for offline use — unless it has expired already (a session ended more than
 *  12 hours ago): that one is not kept at all. */
export async function putList(list) {
  if (expired(list)) return forgetList(list.session_id);
  return run("lists", "readwrite", (s) => s.put(list));
}

export const forgetList = (sessionId) => run("lists", "readwrite", (s) => s.delete(sessionId));

/** Delete the lists that have expired (and any without an end: made before lists had one). */
export async function forgetExpiredLists() {
  const lists = await run("lists", "readonly", (s) => s.getAll());
  for (const list of lists || []) if (expired(list)) await forgetList(list.session_id);
}

/** Every list goes, and the marker with it (at start without a trusted login). */
export async function forgetLists() {
  forgetLogin();
  await run("lists", "readwrite", (s) => s.clear());
}

// ---------------------------------------------------------------------------- forgetting

/** The service worker's copies of staff pages (the assets — code, font — stay). */
async function forgetCachedPages() {
  if (!("caches" in self)) return;
  for (const name of await caches.keys()) {
    if (!name.startsWith("sala-checkin-")) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      if (new URL(request.url).pathname.startsWith("/staff/")) await cache.delete(request);
    }
  }
}

/** Logged out, or the server refused this login: every list, the marker and the cached
 *  staff pages go. The queue of unsent scans stays, to be sent after the next login. */
export async function forgetNames() {
  await forgetLists();
  await forgetCachedPages();
}

// ---------------------------------------------------------------------------- the queue

export const enqueue = (scan) => run("queue", "readwrite", (s) => s.put(scan));
export const queued = (sessionId) =>
  run("queue", "readonly", (s) => s.index("session_id").getAll(sessionId));
export const countQueued = (sessionId) =>
  run("queue", "readonly", (s) => s.index("session_id").count(sessionId));
export const forget = (scanIds) =>
  run("queue", "readwrite", (s) => {
    for (const id of scanIds) s.delete(id);
  });

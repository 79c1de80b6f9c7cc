// What the scanner keeps on the phone (IndexedDB): each session's check-in list, and the
// queue of scans made offline, each with the scan_id the server deduplicates on.

const DB_NAME = "sala-checkin";
const DB_VERSION = 1;
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

export const getList = (sessionId) => run("lists", "readonly", (s) => s.get(sessionId));
export const putList = (list) => run("lists", "readwrite", (s) => s.put(list));
export const enqueue = (scan) => run("queue", "readwrite", (s) => s.put(scan));
export const queued = (sessionId) =>
  run("queue", "readonly", (s) => s.index("session_id").getAll(sessionId));
export const countQueued = (sessionId) =>
  run("queue", "readonly", (s) => s.index("session_id").count(sessionId));
export const forget = (scanIds) =>
  run("queue", "readwrite", (s) => {
    for (const id of scanIds) s.delete(id);
  });
export const forgetList = (sessionId) => run("lists", "readwrite", (s) => s.delete(sessionId));

/** Drop the lists (names) of other sessions downloaded more than ``maxAgeMs`` ago. */
export async function forgetOldLists(keepSessionId, maxAgeMs) {
  const lists = await run("lists", "readonly", (s) => s.getAll());
  const now = Date.now();
  for (const list of lists || []) {
    const age = now - Date.parse(list.generated_at || 0);
    if (list.session_id !== keepSessionId && !(age < maxAgeMs)) await forgetList(list.session_id);
  }
}

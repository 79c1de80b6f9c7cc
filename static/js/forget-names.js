// Loaded by the staff login page, where every logout and every expired login ends up: if
// this phone was a door scanner, its service worker deletes the check-in lists (names) and
// its copies of staff pages at once (templates/checkin/sw.js). The queue of unsent scans
// stays, to be sent after the next login. A phone that never opened the scanner has no
// service worker and nothing to forget.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker
    .getRegistration("/staff/checkin/")
    .then((registration) => {
      const worker = registration && (registration.active || registration.waiting || registration.installing);
      if (worker) worker.postMessage({ type: "forget-names" });
    })
    .catch(() => {});
}

// Sala door scanner: camera → ticket → answer. Online, the server decides every scan;
// offline (or when the server cannot be reached) the phone decides from the check-in list
// and queues the scan, and the queue is sent by itself when the network comes back.
// The names of a stored list are shown only while the login that fetched them is trusted
// and the list has not expired (store.js); logging out, or a 401/403, deletes them.
import { searchKey } from "./names.js";
import { decideOffline, importKeys } from "./tickets.js";
import * as store from "./store.js";

const config = JSON.parse(document.getElementById("checkin-config").textContent);
const T = config.strings;
const SESSION_ID = config.session_id;
const REQUEST_TIMEOUT_MS = 8000;
// Every heartbeat sends the queue, then fetches the list when it is this old: another
// phone's check-ins and new registrations are on this one within REFRESH + SYNC (19 s).
const SYNC_EVERY_MS = 4000;
const REFRESH_EVERY_MS = 15000;
const SAME_CODE_PAUSE_MS = 1500;
const SYNC_BATCH = 200;
const LOGOUT_PATH = document.getElementById("scanner-bar").dataset.logoutUrl;

const $ = (id) => document.getElementById(id);
const say = (text, values = {}) => text.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");

let list = null;
let keys = {};
let staffId = null; // whose login the server last answered
let online = navigator.onLine;
let listFetchedAt = 0; // Date.now() when the server last sent the list
let lastCode = { text: "", at: 0 };

const deviceId = (() => {
  let id = localStorage.getItem("sala-device-id");
  if (!id) {
    id = "phone-" + crypto.randomUUID().slice(0, 8);
    localStorage.setItem("sala-device-id", id);
  }
  return id;
})();

// ---------------------------------------------------------------------------- network

class Unreachable extends Error {}

async function call(method, url, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": config.csrf_token,
        "Accept-Language": config.language,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (error) {
    setOnline(false);
    throw new Unreachable(String(error));
  } finally {
    clearTimeout(timer);
  }
  setOnline(true);
  const data = await response.json().catch(() => null);
  if (response.status === 401 || response.status === 403) await loginRefused(response.status);
  else if (response.ok && staffId !== null) store.rememberLogin(staffId);
  return { status: response.status, data };
}

/** Logged out, the login expired, or this account may not see the session: the names go
 *  (every list, and the cached pages); the queue of unsent scans stays. */
async function loginRefused(status) {
  list = null;
  keys = {};
  staffId = null;
  await store.forgetNames();
  renderSearch();
  if (status === 401) {
    showResult("bad", T.login_again, "");
    showLoginAgain();
  } else {
    showResult("bad", T.forbidden, "");
  }
}

function setOnline(value) {
  online = value;
  const pill = $("network");
  pill.textContent = value ? T.online : T.offline;
  pill.className = "pill " + (value ? "online" : "offline");
  document.body.dataset.network = value ? "online" : "offline";
}

function showLoginAgain() {
  const message = $("camera-message");
  message.replaceChildren();
  const link = document.createElement("a");
  link.href = config.urls.login;
  link.textContent = T.login_again;
  message.append(link);
}

// ---------------------------------------------------------------------------- the list

// The network work that replaces or empties the queue and the list (sending the queue,
// fetching the list) runs one piece at a time, in the order asked: a refresh due while the
// queue is being sent waits for it instead of being skipped.
let networkWork = Promise.resolve();
function inTurn(work) {
  const turn = networkWork.then(work);
  networkWork = turn.catch(() => {});
  return turn;
}

const refresh = () => inTurn(loadList);
const refreshIfDue = () => inTurn(() => (Date.now() - listFetchedAt >= REFRESH_EVERY_MS ? loadList() : undefined));

// What this phone learnt while a list was on its way (a scan, an undo): the list the server
// made before it must not take it back.
let learntDuringFetch = null;

async function loadList() {
  let fresh = false;
  if (online || navigator.onLine) {
    learntDuringFetch = [];
    try {
      const { status, data } = await call("GET", config.urls.checkin_list);
      if (status === 200 && data) {
        staffId = data.staff_id;
        store.rememberLogin(staffId);
        list = data;
        fresh = true;
        listFetchedAt = Date.now();
        for (const answer of learntDuringFetch) learn(answer);
        await store.putList(list); // not kept if the session ended more than 12 hours ago
      } else if (status === 401 || status === 403) {
        return; // call() has deleted the names and said why
      } else if (status === 404) {
        list = null;
        await store.forgetList(SESSION_ID);
        showResult("bad", T.forbidden, "");
        return;
      }
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
    } finally {
      learntDuringFetch = null;
    }
  }
  // Not from the server just now: only a list this login may still show.
  if (!fresh && !store.usable(list)) list = await store.getList(SESSION_ID);
  if (!list) {
    showResult("bad", store.loggedInAs() ? T.no_list : T.login_again, "");
    renderSearch();
    return;
  }
  keys = await importKeys(list.public_keys);
  await applyQueuedToList();
  renderCounter();
  renderSearch();
}

/** Scans queued on this phone and not yet sent count as checked in on it. */
async function applyQueuedToList() {
  for (const scan of await store.queued(SESSION_ID)) {
    const ticket = list.tickets.find((t) => t.registration_id === scan.local_registration_id);
    if (ticket && !ticket.checked_in_at && scan.local_result === "checked_in") {
      ticket.checked_in_at = scan.scanned_at;
      ticket.checked_in_by = config.staff_name;
    }
  }
}

function recount() {
  const confirmed = list.tickets.filter((t) => t.status === "confirmed");
  list.counts = {
    confirmed: confirmed.length,
    checked_in: confirmed.filter((t) => t.checked_in_at).length,
  };
}

function renderCounter() {
  if (!list) return;
  recount();
  const number = new Intl.NumberFormat(config.language === "km" ? "km-KH" : "en");
  $("count-checked-in").textContent = number.format(list.counts.checked_in);
  $("count-confirmed").textContent = number.format(list.counts.confirmed);
  $("count-capacity").textContent = number.format(list.capacity);
}

/** Bring the list in line with an answer of the server (or of this phone). */
function remember(answer) {
  if (!list || !answer.registration_id) return;
  if (learntDuringFetch) learntDuringFetch.push(answer);
  learn(answer);
  store.putList(list);
  renderCounter();
  renderSearch();
}

/** An answer (or "undone", a check-in taken back) into the list held in memory. */
function learn(answer) {
  let ticket = list.tickets.find((t) => t.registration_id === answer.registration_id);
  if (!ticket && answer.result === "checked_in") {
    ticket = { registration_id: answer.registration_id, seed: null, chosen_name: answer.chosen_name, status: "confirmed" };
    list.tickets.push(ticket);
  }
  if (!ticket) return;
  if (answer.result === "checked_in" || answer.result === "already_checked_in") {
    ticket.checked_in_at = answer.checked_in_at || ticket.checked_in_at || new Date().toISOString();
    ticket.checked_in_by = answer.checked_in_by || ticket.checked_in_by;
  } else if (answer.result === "undone") {
    ticket.checked_in_at = null;
    ticket.checked_in_by = null;
  }
}

// ---------------------------------------------------------------------------- answers

const time = (iso) =>
  new Intl.DateTimeFormat(config.language === "km" ? "km-KH" : "en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: config.timezone,
  }).format(new Date(iso));

function describe(answer) {
  const name = answer.chosen_name || "";
  switch (answer.result) {
    case "checked_in":
      return ["ok", say(T.welcome, { name }), ""];
    case "already_checked_in": {
      const when = answer.checked_in_at ? time(answer.checked_in_at) : "";
      const text = answer.checked_in_by
        ? say(T.already_at, { time: when, staff: answer.checked_in_by })
        : when ? say(T.already_at_no_staff, { time: when }) : T.already;
      return ["warn", text, name];
    }
    default:
      return ["bad", T[answer.result] || T.invalid, name];
  }
}

function showResult(kind, title, detail) {
  const box = $("result");
  box.className = "scan-result " + kind;
  box.dataset.kind = kind;
  $("result-title").textContent = title;
  $("result-detail").textContent = detail;
  bringIntoView(box);
  signal(kind);
}

/** The answer where the eye goes: scrolled to just below the sticky bar unless it is in
 *  sight already (after a search or a typed code, the page is scrolled down to them). */
function bringIntoView(box) {
  const top = $("scanner-bar").getBoundingClientRect().bottom;
  const bottom = window.visualViewport ? window.visualViewport.height : window.innerHeight;
  const rect = box.getBoundingClientRect();
  if (rect.top >= top && rect.bottom <= bottom) return;
  window.scrollBy(0, rect.top - top - 8);
}

function showAnswer(answer, { offline = false } = {}) {
  const [kind, title, detail] = describe(answer);
  showResult(kind, title, offline ? [detail, T.offline_saved].filter(Boolean).join(" · ") : detail);
  addRecent(answer, kind, offline);
}

let audio = null;
function signal(kind) {
  if (navigator.vibrate) navigator.vibrate(kind === "ok" ? 120 : kind === "warn" ? [80, 60, 80] : [300]);
  try {
    audio = audio || new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = kind === "ok" ? 880 : kind === "warn" ? 520 : 220;
    gain.gain.value = 0.15;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + (kind === "ok" ? 0.12 : 0.35));
  } catch (error) {
    // No sound on this phone: the colour and the vibration remain.
  }
}

function addRecent(answer, kind, offline) {
  const item = document.createElement("li");
  item.className = "recent-" + kind;
  const [, title] = describe(answer);
  item.textContent = (offline ? "⏳ " : "") + title;
  if (answer.result === "checked_in" && answer.registration_id) {
    item.append(" ", undoButton(answer.registration_id, answer.chosen_name));
  }
  const recent = $("recent");
  recent.prepend(item);
  while (recent.children.length > 10) recent.lastElementChild.remove();
}

// ---------------------------------------------------------------------------- scanning

async function scanToken(token) {
  token = token.trim();
  const now = Date.now();
  // A ticket held in front of the camera is one scan: the same code counts again only
  // once it has been out of sight for a moment.
  const same = token === lastCode.text && now - lastCode.at < SAME_CODE_PAUSE_MS;
  lastCode = { text: token, at: now };
  if (same) return;
  const scan = {
    scan_id: crypto.randomUUID(),
    session_id: SESSION_ID,
    token,
    scanned_at: new Date().toISOString(),
    device_id: deviceId,
  };
  if (navigator.onLine) {
    try {
      const { status, data } = await call("POST", config.urls.checkins, scan);
      if (status === 200 && data) {
        showAnswer(data);
        remember(data);
        sync();
        return;
      }
      if (status === 401) return;
      showResult("bad", (data && data.error && data.error.message) || T.server_error, "");
      return;
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
    }
  }
  await decideOnPhone(scan);
}

async function decideOnPhone(scan) {
  if (!list) {
    showResult("bad", T.no_list, "");
    return;
  }
  const { result, ticket } = await decideOffline(scan.token, SESSION_ID, list, keys);
  const answer = {
    scan_id: scan.scan_id,
    result,
    registration_id: ticket ? ticket.registration_id : null,
    chosen_name: ticket ? ticket.chosen_name : null,
    checked_in_at: ticket ? ticket.checked_in_at : null,
    checked_in_by: ticket ? ticket.checked_in_by : null,
  };
  if (result === "checked_in") {
    answer.checked_in_at = scan.scanned_at;
    answer.checked_in_by = config.staff_name;
  }
  if (result !== "invalid") {
    // The server decides again when it gets the scan; the phone's answer is for the door.
    await store.enqueue({ ...scan, local_result: result, local_registration_id: answer.registration_id });
  }
  showAnswer(answer, { offline: true });
  remember(answer);
  await renderQueue();
}

async function renderQueue() {
  const count = await store.countQueued(SESSION_ID);
  const pill = $("queue");
  pill.dataset.count = String(count);
  pill.textContent = say(T.queue, { count });
}

const forServer = ({ scan_id, session_id, token, registration_id, scanned_at, device_id }) =>
  token ? { scan_id, session_id, token, scanned_at, device_id }
    : { scan_id, session_id, registration_id, scanned_at, device_id };

// One sending of the queue waits its turn at most: asked again meanwhile, the same one.
let syncWaiting = null;
function sync() {
  if (!syncWaiting) {
    syncWaiting = inTurn(() => {
      syncWaiting = null;
      return sendQueue();
    });
  }
  return syncWaiting;
}

async function sendQueue() {
  if (!navigator.onLine) return;
  try {
    let sent = 0;
    let conflicts = 0;
    let refused = 0;
    for (;;) {
      const waiting = (await store.queued(SESSION_ID)).slice(0, SYNC_BATCH);
      if (waiting.length === 0) break;
      let { status, data } = await call("POST", config.urls.checkins, { scans: waiting.map(forServer) });
      if (status === 422 && waiting.length > 1) {
        // One bad scan must not hold back the others: send them one by one.
        const results = [];
        for (const scan of waiting) {
          const one = await call("POST", config.urls.checkins, { scans: [forServer(scan)] });
          if (one.status === 200 && one.data) results.push(...one.data.results);
          else if (one.status === 422) { await store.forget([scan.scan_id]); refused += 1; }
          else { status = one.status; break; }
        }
        ({ status, data } = { status: results.length ? 200 : status, data: { results } });
      } else if (status === 422) {
        await store.forget([waiting[0].scan_id]);
        refused += 1;
        continue;
      }
      if (status !== 200 || !data) break;
      for (const answer of data.results) {
        const local = waiting.find((s) => s.scan_id === answer.scan_id);
        if (local && local.local_result === "checked_in" && answer.result === "already_checked_in") conflicts += 1;
        remember(answer);
      }
      await store.forget(data.results.map((a) => a.scan_id));
      sent += data.results.length;
    }
    if (sent > 0 || refused > 0) {
      let text = say(T.synced, { count: sent });
      if (conflicts) text += " " + say(T.sync_conflicts, { count: conflicts });
      if (refused) text += " " + say(T.sync_refused, { count: refused });
      $("camera-message").textContent = text;
      await loadList();
    }
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
  } finally {
    await renderQueue();
  }
}

// ---------------------------------------------------------------------------- camera

let stream = null;
let detector = null;

async function startCamera() {
  const message = $("camera-message");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    message.textContent = T.camera_missing;
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 } },
      audio: false,
    });
  } catch (error) {
    message.textContent = T.camera_denied;
    return;
  }
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (error) {
      detector = null;
    }
  }
  const video = $("camera");
  video.srcObject = stream;
  await video.play();
  lastCode = { text: "", at: 0 };
  $("camera-start").hidden = true;
  $("camera-stop").hidden = false;
  message.textContent = "";
  document.body.dataset.camera = "on";
  requestAnimationFrame(readFrame);
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("camera-start").hidden = false;
  $("camera-stop").hidden = true;
  document.body.dataset.camera = "off";
}

let lastFrameAt = 0;
async function readFrame(at) {
  if (!stream) return;
  if (at - lastFrameAt >= 150) {
    lastFrameAt = at;
    const text = await decodeFrame($("camera"));
    if (text) await scanToken(text);
  }
  requestAnimationFrame(readFrame);
}

async function decodeFrame(video) {
  if (video.readyState < 2 || !video.videoWidth) return null;
  if (detector) {
    const codes = await detector.detect(video).catch(() => []);
    return codes.length ? codes[0].rawValue : null;
  }
  if (!window.jsQR) return null;
  const canvas = $("frame");
  const scale = Math.min(1, 720 / video.videoWidth);
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  const code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
  return code ? code.data : null;
}

// ---------------------------------------------------------------------------- search, undo

let shownSearch = "";

function renderSearch() {
  const results = $("search-results");
  const query = searchKey($("search").value);
  const matches = query && list
    ? list.tickets.filter((t) => (t.search_key ?? searchKey(t.chosen_name)).includes(query)).slice(0, 20)
    : [];
  // A refresh that changed nothing here leaves the rows alone: no button is swapped under a
  // finger, and the live region does not read them out again.
  const shown = JSON.stringify([query, Boolean(list), matches.map((t) => [t.registration_id, t.chosen_name, t.status, t.checked_in_at])]);
  if (shown === shownSearch) return;
  shownSearch = shown;
  results.replaceChildren();
  if (!query || !list) return;
  if (matches.length === 0) {
    const item = document.createElement("li");
    item.textContent = T.no_match;
    results.append(item);
    return;
  }
  for (const ticket of matches) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = ticket.chosen_name;
    const status = document.createElement("span");
    status.className = "hint";
    status.textContent = ticket.checked_in_at
      ? say(T.status_checked_in, { time: time(ticket.checked_in_at) })
      : ticket.status === "confirmed" ? T.status_confirmed : T.status_waitlisted;
    item.append(name, " ", status, " ");
    if (ticket.checked_in_at) item.append(undoButton(ticket.registration_id, ticket.chosen_name));
    else if (ticket.status === "confirmed") item.append(checkInButton(ticket));
    results.append(item);
  }
}

function checkInButton(ticket) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "small";
  button.textContent = T.check_in;
  button.addEventListener("click", () => checkInByName(ticket));
  return button;
}

async function checkInByName(ticket) {
  const scan = {
    scan_id: crypto.randomUUID(),
    session_id: SESSION_ID,
    registration_id: ticket.registration_id,
    scanned_at: new Date().toISOString(),
    device_id: deviceId,
  };
  try {
    const { status, data } = await call("POST", config.urls.checkins, scan);
    if (status === 200 && data) {
      showAnswer(data);
      remember(data);
    } else if (status !== 401) {
      showResult("bad", (data && data.error && data.error.message) || T.server_error, "");
    }
  } catch (error) {
    if (!(error instanceof Unreachable)) throw error;
    await store.enqueue({ ...scan, local_result: "checked_in", local_registration_id: ticket.registration_id });
    const answer = { scan_id: scan.scan_id, result: "checked_in", registration_id: ticket.registration_id,
      chosen_name: ticket.chosen_name, checked_in_at: scan.scanned_at, checked_in_by: config.staff_name };
    showAnswer(answer, { offline: true });
    remember(answer);
    await renderQueue();
  }
  // The button pressed has become "Undo" (or gone): the answer takes the focus, so that it is
  // read out and the next key press cannot take the check-in back.
  $("result").focus({ preventScroll: true });
}

function undoButton(registrationId, name) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "small secondary";
  button.textContent = T.undo;
  button.addEventListener("click", async () => {
    try {
      const url = config.urls.undo.replace("/0/", "/" + registrationId + "/");
      const { status, data } = await call("POST", url, {});
      if (status !== 200) {
        showResult("bad", (data && data.error && data.error.message) || T.server_error, "");
        return;
      }
      remember({ result: "undone", registration_id: registrationId });
      showResult("idle", say(T.undone, { name }), "");
      button.remove();
      $("result").focus({ preventScroll: true });
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
      showResult("bad", T.needs_network, "");
    }
  });
  return button;
}

// ---------------------------------------------------------------------------- walk-ins

async function walkIn(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("walk-in-error");
  error.hidden = true;
  form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  const fields = Object.fromEntries(new FormData(form));
  const payload = { ...fields, consent: fields.consent === "on", language: config.language };
  try {
    const { status, data } = await call("POST", config.urls.walk_in, payload);
    if (status === 201) {
      const answer = {
        result: data.checked_in ? "checked_in" : "waitlisted",
        registration_id: data.id,
        chosen_name: data.chosen_name,
        checked_in_at: data.checked_in_at,
        checked_in_by: config.staff_name,
      };
      if (data.checked_in) {
        showAnswer(answer);
        remember(answer);
      } else {
        showResult("warn", say(T.walk_in_waitlisted, { name: data.chosen_name }), "");
      }
      form.reset();
      refresh();
      return;
    }
    if (status === 401) return;
    const problem = (data && data.error) || {};
    error.textContent = problem.message || T.server_error;
    error.hidden = false;
    for (const [name, message] of Object.entries(problem.fields || {})) {
      const slot = $("walk-in-" + name + "-error");
      if (slot) { slot.textContent = message; slot.hidden = false; }
      const input = form.elements[name];
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    }
  } catch (caught) {
    if (!(caught instanceof Unreachable)) throw caught;
    error.textContent = T.needs_network;
    error.hidden = false;
  }
}

// ---------------------------------------------------------------------------- logging out

// Logging out from this page: the waiting scans are sent first if the server answers (and
// kept for the next login if not), then the names and cached pages are deleted before the
// logout is sent. Logging out from any other staff page deletes the login marker (the
// server's answer), so no name is shown here again until the next login.
async function logOut(event) {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || new URL(form.action).pathname !== LOGOUT_PATH) return;
  event.preventDefault();
  if (form.dataset.leaving) return;
  form.dataset.leaving = "yes";
  try {
    await sync();
  } finally {
    list = null;
    await store.forgetNames();
    form.submit();
  }
}

/** A list shown offline stops being shown once the login or the list runs out. */
async function hideWhatRanOut() {
  if (online || !list || store.usable(list)) return;
  list = null;
  await store.forgetExpiredLists();
  if (!store.loggedInAs()) await store.forgetLists();
  renderSearch();
  showResult("bad", store.loggedInAs() ? T.no_list : T.login_again, "");
}

// ---------------------------------------------------------------------------- start

$("camera-start").addEventListener("click", startCamera);
$("camera-stop").addEventListener("click", stopCamera);
$("manual").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("manual-token");
  if (input.value.trim()) scanToken(input.value);
  input.value = "";
  lastCode = { text: "", at: 0 };
});
$("search").addEventListener("input", renderSearch);
$("walk-in").addEventListener("submit", walkIn);
// One loop: every heartbeat sends the queue, then fetches the list when it is due. A
// heartbeat still waiting for the server when the next one comes lets that one pass.
// The browser's online/offline events are a hint only (they are late or missing on some
// phones): while offline, the scanner keeps asking the server, and sends the queue once
// it answers.
let beating = false;
async function heartbeat() {
  if (beating) return;
  beating = true;
  try {
    await hideWhatRanOut();
    if (!navigator.onLine) {
      setOnline(false);
      return;
    }
    if (!online) await refresh();
    await sync();
    if (online) await refreshIfDue();
  } finally {
    beating = false;
  }
}
window.addEventListener("online", heartbeat);
window.addEventListener("offline", () => setOnline(false));
document.addEventListener("submit", logOut);
setInterval(heartbeat, SYNC_EVERY_MS);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(config.urls.service_worker, { scope: "/staff/checkin/" }).catch(() => {});
}

setOnline(navigator.onLine);
// Before anything is shown: expired lists go, and without a trusted login (logged out on
// another page, or no answer from the server for 12 hours) every list goes.
await store.forgetExpiredLists();
if (!store.loggedInAs()) await store.forgetLists();
await refresh();
await renderQueue();
sync();
document.body.dataset.scanner = "ready";

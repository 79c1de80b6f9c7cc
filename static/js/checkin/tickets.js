// Ticket tokens, checked on the phone: base45 (RFC 9285) of a 14-byte payload and its
// Ed25519 signature, exactly as attendees/tickets.py makes them. The first byte says how to
// read the rest:
//   version 2: version (1) | key id (1) | ticket id (12)                          | signature (64)
//   version 1: version (1) | key id (1) | registration id (4) | session id (4) | seed (4) | signature (64)
// Version 1 is what tickets carried before ticket ids; those already issued still work.

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const TOKEN_LENGTH = 117;
const PAYLOAD_LENGTH = 14;
const SIGNATURE_LENGTH = 64;

export function base45Decode(text) {
  const values = [];
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) return null;
    values.push(value);
  }
  if (values.length % 3 === 1) return null;
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) return null;
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) return null;
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The claims of a well-formed token (signature not yet checked), or null. */
export function readToken(token) {
  if (typeof token !== "string" || token.length !== TOKEN_LENGTH) return null;
  const raw = base45Decode(token);
  if (!raw || raw.length !== PAYLOAD_LENGTH + SIGNATURE_LENGTH) return null;
  const view = new DataView(raw.buffer);
  const claims = {
    version: view.getUint8(0),
    keyId: view.getUint8(1),
    payload: raw.slice(0, PAYLOAD_LENGTH),
    signature: raw.slice(PAYLOAD_LENGTH),
  };
  if (claims.version === 2) return { ...claims, ticketId: hex(raw.slice(2, PAYLOAD_LENGTH)) };
  if (claims.version === 1) {
    return { ...claims, registrationId: view.getUint32(2), sessionId: view.getUint32(6), seed: view.getUint32(10) };
  }
  return null;
}

/** The list's public keys as WebCrypto keys: {keyId: CryptoKey}. Empty when this browser
 *  has no Ed25519 (then offline answers rest on the list's secret seeds alone). */
export async function importKeys(publicKeys) {
  const keys = {};
  for (const [keyId, base64] of Object.entries(publicKeys || {})) {
    const raw = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    try {
      keys[keyId] = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return {};
    }
  }
  return keys;
}

/**
 * What the server would answer, decided on the phone from the check-in list:
 * {result, ticket}. ``result`` is one of the API's results.
 */
export async function decideOffline(token, sessionId, list, keys) {
  const claims = readToken(token);
  if (!claims) return { result: "invalid", ticket: null };
  const key = keys[String(claims.keyId)];
  if (key) {
    let genuine = false;
    try {
      genuine = await crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, claims.payload);
    } catch (error) {
      genuine = false;
    }
    if (!genuine) return { result: "invalid", ticket: null };
  } else if (Object.keys(keys).length > 0) {
    return { result: "invalid", ticket: null }; // signed by a key this installation does not have
  }
  return claims.version === 2 ? byTicketId(claims, list) : byRegistration(claims, sessionId, list);
}

/** A version-2 ticket names nothing but its ticket id: this session's list maps it back. */
function byTicketId(claims, list) {
  if ((list.revoked_ticket_ids || []).includes(claims.ticketId)) return { result: "cancelled", ticket: null };
  const ticket = (list.tickets || []).find((t) => t.ticket_id === claims.ticketId);
  // Genuine but not on this list: another session's ticket (or one replaced since). The scan
  // is queued all the same, and the server says which when it gets it.
  if (!ticket) return { result: "wrong_session", ticket: null };
  return byStatus(ticket);
}

/** A version-1 ticket says its session, registration and seed. */
function byRegistration(claims, sessionId, list) {
  if (claims.sessionId !== sessionId) return { result: "wrong_session", ticket: null };
  if ((list.revocations || []).includes(claims.registrationId)) return { result: "cancelled", ticket: null };
  const ticket = (list.tickets || []).find((t) => t.registration_id === claims.registrationId);
  if (!ticket) return { result: "invalid", ticket: null };
  if (ticket.seed !== claims.seed) return { result: "revoked", ticket };
  return byStatus(ticket);
}

function byStatus(ticket) {
  if (ticket.status === "waitlisted") return { result: "waitlisted", ticket };
  if (ticket.status !== "confirmed") return { result: "cancelled", ticket };
  if (ticket.checked_in_at) return { result: "already_checked_in", ticket };
  return { result: "checked_in", ticket };
}

// Offline pass verification in the browser (WebCrypto Ed25519): the token format is documented in
// fangkong/passes/tokens.py; the rules are those of verification.check_token.
"use strict";

const STORE = "fk-passes";
const FULL_WIDTH = /[\uFF01-\uFF5E]/g;

function b64urlBytes(text) {
  const base = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base + "=".repeat((4 - (base.length % 4)) % 4);
  const raw = atob(padded);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function extract(text) {
  const part = text.trim().split("#").pop();
  return part.split("/").pop().trim();
}

function normalPlate(text) {
  return (text || "").replace(FULL_WIDTH, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0))
    .replace(/[\s\-·•・.]/g, "").toUpperCase();
}

function decode(token) {
  const raw = b64urlBytes(token);
  const view = new DataView(raw.buffer);
  if (raw.length < 19 + 64 || view.getUint8(0) !== 1) throw new Error("malformed");
  const n = view.getUint8(18);
  const bodyLength = 19 + n;
  if (raw.length !== bodyLength + 64) throw new Error("malformed");
  const kind = view.getUint8(9);
  if (kind !== 1 && kind !== 2) throw new Error("malformed");
  const hex = Array.from(raw.slice(1, 5), (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    kid: hex, passId: view.getUint32(5), kind: kind === 1 ? "vehicle" : "person",
    from: view.getUint32(10) * 1000, until: view.getUint32(14) * 1000,
    subject: new TextDecoder("utf-8", { fatal: true }).decode(raw.slice(19, bodyLength)),
    body: raw.slice(0, bodyLength), signature: raw.slice(bodyLength),
  };
}

async function loadJson(path) {
  // The service worker answers from its copy when offline; localStorage is the second copy (a first
  // visit before the worker took control, or a browser that clears the worker's caches).
  try {
    const response = await fetch(path, { cache: "no-cache" });
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    const online = response.headers.get("x-fk-offline") !== "1";
    if (online) localStorage.setItem(STORE + path, JSON.stringify(body));
    return { body, online };
  } catch (error) {
    const copy = localStorage.getItem(STORE + path);
    if (copy) return { body: JSON.parse(copy), online: false };
    return { body: null, online: false };
  }
}

async function importKeys(doc) {
  const keys = {};
  for (const key of doc.keys || []) {
    keys[key.kid] = await crypto.subtle.importKey("raw", b64urlBytes(key.x), { name: "Ed25519" }, false, ["verify"]);
  }
  return keys;
}

async function check(state, text, plate) {
  let claims;
  try {
    claims = decode(extract(text));
  } catch (error) {
    return { outcome: "malformed" };
  }
  const key = state.keys[claims.kid];
  if (!key) return { outcome: "forged", claims };
  const genuine = await crypto.subtle.verify({ name: "Ed25519" }, key, claims.signature, claims.body);
  if (!genuine) return { outcome: "forged", claims };
  if (state.revoked.has(claims.passId)) return { outcome: "revoked", claims };
  const now = Date.now();
  if (now > claims.until) return { outcome: "expired", claims };
  if (now < claims.from) return { outcome: "not_yet_valid", claims };
  if (claims.kind === "vehicle" && normalPlate(plate) !== claims.subject) {
    return { outcome: "plate_mismatch", claims, params: { plate: claims.subject } };
  }
  return { outcome: "valid", claims };
}

function format(template, params) {
  return template.replace(/\{(\w+)\}/g, (all, name) => (name in (params || {}) ? params[name] : all));
}

function show(messages, result) {
  const box = document.getElementById("result");
  const text = messages.dataset["outcome" + result.outcome.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("")];
  box.hidden = false;
  box.dataset.outcome = result.outcome;
  box.className = "card verdict " + (result.outcome === "valid" ? "ok" : "bad");
  box.replaceChildren();
  const head = document.createElement("b");
  head.textContent = format(text || result.outcome, result.params);
  box.append(head);
  if (result.claims) {
    const facts = document.createElement("p");
    const until = new Date(result.claims.until).toLocaleString(document.documentElement.lang);
    facts.textContent = `${messages.dataset.pass} ${result.claims.passId} · ${messages.dataset["kind" +
      (result.claims.kind === "vehicle" ? "Vehicle" : "Person")]} · ${messages.dataset.subject} ${result.claims.subject}` +
      ` · ${messages.dataset.until} ${until}`;
    box.append(facts);
  }
}

async function start() {
  const messages = document.getElementById("messages");
  const status = document.getElementById("cache-state");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/passes/sw.js", { scope: "/passes/" }).catch(() => {});
  }
  const state = { keys: {}, revoked: new Set() };
  const [keys, revoked] = await Promise.all([loadJson("/passes/keys.json"), loadJson("/passes/revoked.json")]);
  if (!keys.body) {
    status.textContent = messages.dataset.nokeys;
  } else {
    try {
      state.keys = await importKeys(keys.body);
      state.revoked = new Set((revoked.body && revoked.body.revoked) || []);
      const time = new Date((revoked.body || keys.body).generated_at).toLocaleString(document.documentElement.lang);
      const template = keys.online ? messages.dataset.cached : messages.dataset.offline;
      status.textContent = format(template, { time, n: state.revoked.size });
      status.dataset.ready = keys.online ? "online" : "offline";
    } catch (error) {
      status.textContent = messages.dataset.nocrypto;
    }
  }
  const token = document.getElementById("token");
  if (location.hash.length > 1) token.value = location.hash.slice(1);
  document.getElementById("verify-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    show(messages, await check(state, token.value, document.getElementById("plate").value));
  });
}

document.addEventListener("DOMContentLoaded", start);

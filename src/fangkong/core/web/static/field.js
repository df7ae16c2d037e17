// The field app on the page (issue 20): registers the service worker, queues the submissions of forms
// marked `data-offline` in IndexedDB while the network is down, sends them to their JSON API when it
// returns (each carries its client id: a resend changes nothing on the server), and shows how many are
// waiting, what came back as a conflict (kept until dismissed), and the age of the kept lookups.
// Messages come translated from the page (#field-bar data attributes); no inline script (CSP).
(function () {
  "use strict";
  if (window.fkField) return;  // loaded once per page
  window.fkField = {};
  var bar = document.getElementById("field-bar");

  // The self-report notice: copy the SMS text, print the notice.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-copy],[data-print]") : null;
    if (!el) return;
    if (el.hasAttribute("data-print")) { window.print(); return; }
    var box = document.querySelector(el.getAttribute("data-copy"));
    if (!box) return;
    box.select();
    if (navigator.clipboard) navigator.clipboard.writeText(box.value).catch(function () { document.execCommand("copy"); });
    else document.execCommand("copy");
  });
  var DB = "fk-field", STORE = "queue";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(key, params) {
    var text = (bar && bar.dataset[key]) || key;
    Object.keys(params || {}).forEach(function (k) { text = text.split("{" + k + "}").join(params[k]); });
    return text;
  }

  // --- IndexedDB -------------------------------------------------------------------------------------
  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "client_id" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), store = t.objectStore(STORE), out = fn(store);
        t.oncomplete = function () { db.close(); resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }
  function put(item) { return tx("readwrite", function (s) { s.put(item); }); }
  function drop(id) { return tx("readwrite", function (s) { s.delete(id); }); }

  // --- forms to JSON bodies ------------------------------------------------------------------------------
  function num(v) { v = String(v || "").trim().replace("，", ".").replace(",", "."); return v === "" ? null : parseFloat(v); }

  function bodyOf(form, kind) {
    var data = new FormData(form), get = function (k) { return String(data.get(k) || "").trim(); };
    if (kind === "passage") {
      var people = [];
      for (var i = 0; i < 60; i++) {
        var p = function (k) { return get("people." + i + "." + k); };
        if (!form.querySelector('[name="people.' + i + '.name"]')) break;
        if (!p("name") && !p("id_number") && !p("doc_number") && !p("temperature_c")) continue;
        people.push({ name: p("name"), id_number: p("id_number"), doc_type: p("doc_type") || "resident_id",
                      doc_number: p("doc_number"), temperature_c: num(p("temperature_c")),
                      disposition: p("disposition") || "passed", role: p("role") || (i === 0 ? "driver" : "passenger"),
                      override_reason: get("override_reason") });
      }
      return { client_id: get("client_id"), plate: get("plate"), origin: get("origin"),
               destination: get("destination"), reason: get("reason"), people: people };
    }
    if (kind === "followup") {
      return { client_id: get("client_id"), temperature_c: num(get("temperature_c")), symptoms: data.getAll("symptoms"),
               test_result: get("test_result"), note: get("note") };
    }
    var unit = get("new_unit_id");
    return { client_id: get("client_id"), outcome: get("outcome"), temperature_c: num(get("temperature_c")),
             symptoms: get("symptoms"), measure: get("measure") || "none", note: get("note"),
             new_address: get("new_address"), new_unit_id: unit ? parseInt(unit, 10) : null };
  }

  function queue(form) {
    var kind = form.dataset.offline, idField = form.querySelector('input[name="client_id"]');
    if (!idField.value) idField.value = newId();
    var item = { client_id: idField.value, kind: kind, api: form.dataset.api, body: bodyOf(form, kind),
                 label: form.dataset.label || "", at: new Date().toISOString(), state: "waiting", problem: "" };
    return put(item).then(function () {
      idField.value = newId();  // the next entry on this form is another record
      if (kind === "passage") {
        form.reset();
        idField.value = newId();
      } else {
        var note = document.createElement("p");
        note.className = "warn queued";
        note.textContent = say("queued");
        form.replaceWith(note);
      }
      render();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches('form[action="/logout"]') && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage("logout");
      return;
    }
    if (!form.dataset || !form.dataset.offline) return;
    var idField = form.querySelector('input[name="client_id"]');
    if (idField && !idField.value) idField.value = newId();
    if (navigator.onLine) return;  // sent as usual, with its client id
    event.preventDefault();
    queue(form);
  }, true);

  // --- sending -------------------------------------------------------------------------------------------
  var sending = false;
  function csrf() { return (bar && bar.dataset.csrf) || ""; }

  function send() {
    if (sending || !navigator.onLine) return Promise.resolve();
    sending = true;
    return all().then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "waiting"; })
        .sort(function (a, b) { return a.at < b.at ? -1 : 1; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function (go) {
          if (!go) return false;
          return fetch(item.api, { method: "POST", credentials: "same-origin", body: JSON.stringify(item.body),
                                   headers: { "Content-Type": "application/json", "Accept": "application/json",
                                              "X-CSRF-Token": csrf() } })
            .then(function (r) {
              if (r.ok) return drop(item.client_id).then(function () { return true; });
              if (r.status === 401) { item.problem = say("login"); return put(item).then(function () { return false; }); }
              if (r.status >= 500 || r.status === 429) return false;  // not saved: try again later
              return r.json().catch(function () { return {}; }).then(function (p) {
                var detail = p.detail || p.title || String(r.status);
                if (p.errors && p.errors.length) detail += " (" + p.errors.map(function (e) { return e.message; }).join("; ") + ")";
                item.state = "conflict";
                item.problem = detail;
                return put(item).then(function () { return true; });
              });
            }, function () { return false; });
        });
      }, Promise.resolve(true));
    }).then(function () { sending = false; render(); }, function () { sending = false; });
  }

  // --- the bar -------------------------------------------------------------------------------------------
  function age(iso) {
    var minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
    return minutes < 60 ? say("minutes", { n: minutes }) : say("hours", { n: Math.round(minutes / 60) });
  }

  function render() {
    if (!bar) return Promise.resolve();
    return all().then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "waiting"; }).length;
      var conflicts = items.filter(function (i) { return i.state === "conflict"; });
      bar.querySelector(".field-state").textContent = navigator.onLine ? "" : say("offline");
      var count = bar.querySelector(".field-waiting");
      count.textContent = waiting ? say("waiting", { n: waiting }) : "";
      count.dataset.count = String(waiting);
      var list = bar.querySelector(".field-conflicts");
      list.textContent = "";
      conflicts.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "bad";
        li.textContent = say("conflict", { what: item.label || item.kind }) + " " + item.problem + " ";
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = say("dismiss");
        button.addEventListener("click", function () { drop(item.client_id).then(render); });
        li.appendChild(button);
        list.appendChild(li);
      });
      bar.hidden = !(waiting || conflicts.length || !navigator.onLine || bar.querySelector(".field-ages").textContent);
    });
  }

  function lookups() {
    var paths = JSON.parse((bar && bar.dataset.lookups) || "[]"), names = JSON.parse(bar.dataset.lookupNames || "{}");
    var fetched = navigator.onLine ? Promise.all(paths.map(function (p) {
      return fetch(p, { credentials: "same-origin" }).catch(function () { return null; });
    })) : Promise.resolve();
    return fetched.then(function () {
      if (!window.caches) return;
      return caches.open("fk-field-lookups").then(function (cache) {
        return Promise.all(paths.map(function (p) {
          return cache.match(p).then(function (r) { return r && r.headers.get("x-fk-fetched") ? [p, r.headers.get("x-fk-fetched")] : null; });
        }));
      }).then(function (found) {
        var text = found.filter(Boolean).map(function (f) { return say("asof", { what: names[f[0]] || f[0], age: age(f[1]) }); });
        bar.querySelector(".field-ages").textContent = navigator.onLine ? "" : text.join(" · ");
      });
    }).then(render);
  }

  // Offline, the passage form proposes the referral for a risk-area origin or ID from the kept list of risk
  // areas (the server's full rule, with the area table's names, applies when the passage arrives; a
  // disagreement comes back as a conflict and stays on the device).
  function prefix(code) { code = String(code || ""); while (code.length > 2 && code.slice(-2) === "00") code = code.slice(0, -2); return code; }
  function related(a, b) { a = prefix(a); b = prefix(b); return a.length && b.length && (a.indexOf(b) === 0 || b.indexOf(a) === 0); }
  function riskAreas() {
    return fetch("/api/v1/risk-areas", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { return rows.filter(function (a) { return a.level === "high" || a.level === "medium"; }); },
            function () { return []; });
  }
  function proposeOffline(form) {
    if (navigator.onLine) return;
    riskAreas().then(function (areas) {
      var origin = (form.querySelector('[name="origin"]') || {}).value || "";
      var fromOrigin = areas.some(function (a) { return a.name && origin.indexOf(a.name) >= 0; });
      form.querySelectorAll('select[name$=".disposition"]').forEach(function (select) {
        var id = (form.querySelector('[name="' + select.name.replace("disposition", "id_number") + '"]') || {}).value || "";
        var name = (form.querySelector('[name="' + select.name.replace("disposition", "name") + '"]') || {}).value || "";
        var fromId = id.length >= 6 && areas.some(function (a) { return related(a.area_code, id.slice(0, 6)); });
        if ((fromOrigin && (id || name)) || fromId) {
          if (select.value === "passed") { select.value = "referred"; select.classList.add("proposed"); }
        }
      });
    });
  }
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.dataset && form.dataset.offline === "passage") proposeOffline(form);
  });

  if (!bar) return;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () { return lookups(); }, function () {});
  }
  window.addEventListener("online", function () { send().then(lookups); });
  window.addEventListener("offline", function () { lookups(); });
  document.addEventListener("DOMContentLoaded", function () {
    // Always a fresh id: a page served from the kept copy carries the id it had then, and two records queued
    // from it under one id would be one.
    document.querySelectorAll("form[data-offline] input[name=client_id]").forEach(function (f) { f.value = newId(); });
    render().then(send);
  });
  setInterval(send, 30000);
  window.fkField = { send: send, render: render, all: all };  // for the browser tests and the curious
})();

// organwatch review: keyboard labelling. No inline script anywhere (the CSP forbids it); htmx does the requests.
(function () {
  "use strict";
  var km = {};
  try { km = JSON.parse(document.body.getAttribute("data-keymap") || "{}"); } catch (e) { km = {}; }
  var labels = km.labels || {};
  var pendingNext = null;

  function hits() { return Array.prototype.slice.call(document.querySelectorAll("article.hit")); }
  function current() {
    var a = document.activeElement;
    return a && a.closest ? a.closest("article.hit") : null;
  }
  function focusHit(el) { if (el) { el.focus(); if (el.scrollIntoView) { el.scrollIntoView({block: "nearest"}); } } }
  function move(d) {
    var hs = hits();
    if (!hs.length) { return; }
    var i = hs.indexOf(current());
    i = i < 0 ? 0 : Math.max(0, Math.min(hs.length - 1, i + d));
    focusHit(hs[i]);
  }
  function has(list, k) { return (list || []).indexOf(k) >= 0; }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      var box = t.closest ? t.closest("article.hit") : null;
      if (ev.key === "Escape" && box) { box.focus(); }
      // Enter in a decision form must not submit the first label button by accident
      if (ev.key === "Enter" && t.form && t.form.classList.contains("decide")) { ev.preventDefault(); if (box) { box.focus(); } }
      return;
    }
    var k = ev.key;
    if (has(km.next, k)) { ev.preventDefault(); move(1); return; }
    if (has(km.previous, k)) { ev.preventDefault(); move(-1); return; }
    var c = current();
    if (!c) { return; }
    if (has(km.open, k)) { var a = c.querySelector("a.open"); if (a) { ev.preventDefault(); window.location.href = a.href; } return; }
    if (has(km.rationale, k)) { var r = c.querySelector("input.rationale"); if (r) { ev.preventDefault(); r.focus(); } return; }
    var code = Object.prototype.hasOwnProperty.call(labels, k) ? labels[k] : null;
    if (code) {
      var b = c.querySelector('button[data-label="' + code + '"]');
      if (b) { ev.preventDefault(); pendingNext = c.id; b.click(); }
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.detail && ev.detail.target && ev.detail.target.id === "main") { focusHit(hits()[0]); return; }
    if (!pendingNext) { return; }
    var el = document.getElementById(pendingNext);
    pendingNext = null;
    if (!el) { return; }
    var hs = hits();
    var i = hs.indexOf(el);
    focusHit(hs[i + 1] || el);
  });

  // a refused write (400, 403, 409 nonce conflict, 413) is shown, never silently dropped; textContent only
  document.body.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail && ev.detail.xhr;
    if (!xhr) { return; }
    var box = document.getElementById("write-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "write-error";
      box.className = "error";
      box.setAttribute("role", "alert");
      var main = document.getElementById("main");
      if (main) { main.insertBefore(box, main.firstChild); } else { document.body.appendChild(box); }
    }
    box.textContent = "Not saved (HTTP " + xhr.status + "): " + String(xhr.responseText || "").slice(0, 300);
  });

  var hs = hits();
  if (hs.length && (!document.activeElement || document.activeElement === document.body)) { focusHit(hs[0]); }
})();

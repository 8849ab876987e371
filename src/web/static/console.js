// The staff console's own behaviour, on top of pages that work without it:
// keyboard shortcuts, showing only the evidence fields of the chosen
// channel, and opening an action's form named in the address. Partial
// updates and live counts are htmx's (vendored beside this file).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable]");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  }

  function currentRow() {
    var list = rows();
    for (var i = 0; i < list.length; i++) {
      if (list[i].classList.contains("is-current")) return i;
    }
    return -1;
  }

  function moveTo(index) {
    var list = rows();
    if (list.length === 0) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (r) { r.classList.remove("is-current"); });
    var row = list[index];
    row.classList.add("is-current");
    var link = row.querySelector("a[data-open]");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function openAction(key) {
    var panel = document.querySelector('details[data-key="' + key + '"]');
    if (!panel) return false;
    panel.open = true;
    var first = panel.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
    panel.scrollIntoView({ block: "nearest" });
    return true;
  }

  function toggleKeys() {
    var keys = document.getElementById("phim-tat");
    if (!keys) return;
    keys.open = !keys.open;
    if (keys.open) {
      var summary = keys.querySelector("summary");
      if (summary) summary.focus();
      keys.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = event.key;
    var handled = true;
    if (key === "?") {
      toggleKeys();
    } else if (key === "j") {
      moveTo(currentRow() + 1);
    } else if (key === "k") {
      moveTo(currentRow() - 1);
    } else if (key === "g") {
      window.location.assign("/nhan-vien/phan-anh");
    } else if (key === "n") {
      var note = document.querySelector('[data-key-target="n"]');
      if (note) note.focus(); else handled = false;
    } else if ("cfraxt".indexOf(key) >= 0 && key.length === 1) {
      handled = openAction(key);
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });

  // The intake desk: only the evidence of the channel chosen (all of it
  // shows without this script).
  function showEvidence() {
    var chosen = document.querySelector('input[name="channel"]:checked');
    var channel = chosen ? chosen.value : "";
    document.querySelectorAll("fieldset.evidence[data-kenh]").forEach(function (set) {
      var mine = set.getAttribute("data-kenh").split(" ").indexOf(channel) >= 0;
      set.hidden = !mine;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "channel") showEvidence();
    if (event.target && event.target.id === "chon-tat-ca") {
      var on = event.target.checked;
      document.querySelectorAll('input[name="items"]').forEach(function (box) { box.checked = on; });
    }
  });

  // The answer being written: htmx saves it every few seconds as it is
  // typed; what was typed since the last save goes to the server when the
  // page is left (closed, reloaded, navigated away), unless the form
  // itself was sent.
  var draftSent = false;
  var draftTyped = false;
  document.addEventListener("input", function (event) {
    if (event.target && event.target.hasAttribute && event.target.hasAttribute("data-draft")) {
      draftTyped = true;
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.querySelector && event.target.querySelector("[data-draft]")) {
      draftSent = true;
    }
  });
  function saveDraftOnLeave() {
    var box = document.querySelector("textarea[data-draft]");
    if (!box || draftSent || !draftTyped || !navigator.sendBeacon) return;
    var url = box.getAttribute("hx-post");
    var body = new URLSearchParams(new FormData(box.form));
    if (navigator.sendBeacon(url, body)) draftTyped = false;
  }
  window.addEventListener("pagehide", saveDraftOnLeave);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveDraftOnLeave();
  });

  function ready() {
    if (document.querySelector("fieldset.evidence")) showEvidence();
    // An action named in the address (#tac-vu-forward) opens its form.
    if (window.location.hash.indexOf("#tac-vu-") === 0) {
      var panel = document.getElementById(window.location.hash.slice(1));
      if (panel && panel.tagName === "DETAILS") panel.open = true;
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();

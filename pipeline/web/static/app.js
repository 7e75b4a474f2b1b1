// Progressive enhancement only: every page works without JavaScript.
// - "Kopier kilde": copy a formatted citation. The citation is visible text, so without
//   JavaScript it can be selected and copied by hand; the buttons appear only with it.
// - While an answer is fetched (it can take seconds), the button says "Henter svar …" and
//   cannot be pressed twice; the form and the answer region are aria-busy.
// - When the page arrives with an answer (or an error), focus moves to its heading, so a
//   screen reader starts there and keyboard users continue from it.
// - Koding: a selection inside a passage's text becomes the span form's start and end, in
//   characters (code points, as the server counts them) of the passage text.
"use strict";

function enableCopyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var status = button.parentElement.querySelector(".copy-status");
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var selectIt = function () {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) { status.textContent = "Teksten er markert. Trykk Ctrl+C for å kopiere."; }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          if (status) { status.textContent = "Kopiert."; }
        }, selectIt);
      } else {
        selectIt();
      }
    });
  });
}

function showBusyWhileAsking() {
  var form = document.getElementById("sporsmal");
  if (!form) { return; }
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("spor-status");
  var region = document.getElementById("svar-omrade");
  var idle = button.textContent;
  var setBusy = function (busy) {
    button.disabled = busy;
    button.textContent = busy ? form.dataset.busy : idle;
    [form, region].forEach(function (element) {
      if (!element) { return; }
      if (busy) { element.setAttribute("aria-busy", "true"); } else { element.removeAttribute("aria-busy"); }
    });
    if (status) { status.textContent = busy ? "Henter svar. Det kan ta noen sekunder." : ""; }
  };
  form.addEventListener("submit", function () {
    // The submission has begun: disabling its button now does not stop it.
    setBusy(true);
  });
  // Back to this page from the browser's cache: the old request is gone, so is the wait.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { setBusy(false); }
  });
}

function focusTheResult() {
  if (window.location.hash) { return; }  // a link to a source card decides where to go
  var heading = document.getElementById("svar-tittel") || document.getElementById("feil-tittel");
  if (heading) { heading.focus(); }
}

function codePoints(text) {
  return Array.from(text).length;  // "ø" is one, as in Python; an emoji is one, not two
}

function selectionIn(element) {
  var selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return null; }
  var range = selection.getRangeAt(0);
  if (!element.contains(range.startContainer) || !element.contains(range.endContainer)) { return null; }
  var before = document.createRange();
  before.selectNodeContents(element);
  before.setEnd(range.startContainer, range.startOffset);
  var start = codePoints(before.toString());
  var end = start + codePoints(range.toString());
  return end > start ? { start: start, end: end, text: range.toString() } : null;
}

function enableSpanCoding() {
  document.querySelectorAll("form.span-form").forEach(function (form) {
    var text = document.querySelector('.coding-text[data-passage="' + form.dataset.passage + '"]');
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".selection-status");
    if (!text) { return; }
    var update = function () {
      var chosen = selectionIn(text);
      if (!chosen) { return; }
      form.elements.start.value = chosen.start;
      form.elements.slutt.value = chosen.end;
      button.disabled = false;
      var shown = chosen.text.length > 80 ? chosen.text.slice(0, 80) + " …" : chosen.text;
      status.textContent = "Markert: «" + shown + "»";
    };
    text.addEventListener("mouseup", update);
    text.addEventListener("keyup", update);
  });
}

function focusSavedNotice() {
  var saved = document.getElementById("lagret");
  if (saved) { saved.focus(); }
}

document.addEventListener("DOMContentLoaded", function () {
  enableCopyButtons();
  enableSpanCoding();
  focusSavedNotice();
  showBusyWhileAsking();
  focusTheResult();
});

// "Kopier kilde": copy a formatted citation. The citation is visible text, so without
// JavaScript it can be selected and copied by hand; the buttons appear only with it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
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
});

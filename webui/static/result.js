// The result page's two buttons that need a browser: Print and Copy note.
// Without JavaScript the page works as it is: the note is a visible block to select and
// copy, and the browser's own Print command prints the page.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var status = document.getElementById("copy-status");
  var note = document.getElementById("note-text");

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function selectNote() {
    var range = document.createRange();
    range.selectNodeContents(note);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyBySelection() {
    selectNote();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    say(copied ? "Note copied." : "Note selected: press Ctrl+C (or \u2318+C) to copy it.");
  }

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.hidden = false;
  });
  document.querySelectorAll("[data-without-js]").forEach(function (element) {
    element.hidden = true;
  });

  var print = document.querySelector("[data-action=print]");
  if (print) {
    print.addEventListener("click", function () { window.print(); });
  }
  var copy = document.querySelector("[data-action=copy]");
  if (copy && note) {
    copy.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(note.textContent).then(
          function () { say("Note copied."); }, copyBySelection);
      } else {
        copyBySelection();
      }
    });
  }
});

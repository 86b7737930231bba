// Small improvements on pages that work without JavaScript. No inline scripts (strict CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // "Clear my answers" for an optional questionnaire: radio buttons cannot be unticked otherwise.
  document.querySelectorAll("[data-clear]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-clear"));
    if (!target) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      target.querySelectorAll("input[type=radio]").forEach(function (input) { input.checked = false; });
    });
  });
  // Print the checklist.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Copy a link (the checklist's) with one button; says so for screen readers too.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = "Link copied."; }
      }, function () {
        field.select();
        if (status) { status.textContent = "Select the link and copy it."; }
      });
    });
  });
  // Select the share link on focus, ready to copy.
  var share = document.getElementById("share-link");
  if (share) {
    // Without a configured public address the server writes the path only: complete it here,
    // from the address this browser actually used (never from a header anyone can forge).
    if (share.value.charAt(0) === "/") { share.value = window.location.origin + share.value; }
    share.addEventListener("focus", function () { share.select(); });
  }
  // After a failed submit, move focus to the list of problems; when the crisis resources come
  // first (self-harm answers), to them, so that nobody is taken past them.
  // An error link to a group of boxes or buttons (a fieldset) focuses its first choice (the
  // ticked one if any), with the question's legend in view, as GOV.UK's error summary does.
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      var input = target.matches("input, select, textarea") ? target :
        (target.querySelector("input:checked") || target.querySelector("input, select, textarea"));
      if (!input) { return; }
      event.preventDefault();
      var legend = target.querySelector("legend") || target;
      var details = input.closest("details");
      if (details) { details.open = true; }
      input.focus({ preventScroll: true });
      legend.scrollIntoView();
    });
  });
  var summary = document.getElementById("error-summary");
  var crisis = document.getElementById("crisis");
  if (summary) { (crisis || summary).focus(); }
  // Ask which difficulty matters most only when more than one is picked, listing those.
  var main = document.querySelector("[data-main-difficulty]");
  var select = main ? main.querySelector("select") : null;
  if (main && select) {
    var boxes = document.querySelectorAll("input[name=difficulties]");
    var update = function () {
      var picked = [];
      boxes.forEach(function (box) { if (box.checked) { picked.push(box.value); } });
      main.hidden = picked.length < 2;
      Array.prototype.forEach.call(select.options, function (option) {
        var keep = !option.value || picked.indexOf(option.value) >= 0;
        option.hidden = !keep;
        option.disabled = !keep;
        if (!keep && option.selected) { select.value = ""; }
      });
    };
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }
  // The console's single-key shortcuts (listed on the page, #keyboard-shortcuts): never while
  // typing in a field, never with a modifier (so the access keys, Alt+M..., and the browser's
  // own keys work as before), and off when the receptionist turns them off (WCAG 2.1.4).
  var shortcuts = document.getElementById("keyboard-shortcuts");
  if (shortcuts) {
    var note = shortcuts.querySelector("[data-shortcuts-note]");
    var off = document.getElementById("shortcuts-off");
    var stored = function () {
      try { return window.localStorage.getItem("matcher.shortcuts") === "off"; } catch (e) { return false; }
    };
    if (note) { note.hidden = false; }
    if (off) {
      off.checked = stored();
      off.addEventListener("change", function () {
        try { window.localStorage.setItem("matcher.shortcuts", off.checked ? "off" : "on"); } catch (e) { /* kept for this page only */ }
      });
    }
    var typing = function (element) {
      if (!element || element === document.body) { return false; }
      if (element.isContentEditable || element.matches("textarea, select")) { return true; }
      return element.matches("input") &&
        ["checkbox", "radio", "button", "submit", "reset"].indexOf(element.type) < 0;
    };
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.isComposing || event.repeat) { return; }
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      if ((off && off.checked) || typing(document.activeElement)) { return; }
      var key = event.key.length === 1 ? event.key.toLowerCase() : "";
      var target = key ? document.querySelector("[data-shortcut='" + key + "']") : null;
      if (!target) { return; }
      event.preventDefault();
      // "Ask why not" with nobody chosen, "Save" with no name: go to what is missing first.
      var needed = document.getElementById(target.getAttribute("data-shortcut-needs") || "");
      if (needed && !needed.value) { needed.focus(); return; }
      var question = target.getAttribute("data-shortcut-confirm");
      if (question && !window.confirm(question)) { return; }
      target.click();
    });
  }
});

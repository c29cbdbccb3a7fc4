// The error summary of a form (templates/includes/form_errors_summary.html) takes the focus when the page
// loads, so a screen reader reads it and the keyboard starts there; each of its links moves the focus to
// its field (a fragment link alone scrolls but leaves the focus behind) and shows the field's label.
(function () {
  "use strict";
  var summary = document.querySelector("[data-focus-on-load]");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) { return; }
    event.preventDefault();
    // A group of checkboxes is linked by its fieldset: its legend is shown and its first checkbox focused.
    var field = target.tagName === "FIELDSET"
      ? target.querySelector("input[type=checkbox], input[type=radio]") || target.querySelector("input:not([type=hidden])")
      : target;
    var label = target.tagName === "FIELDSET" ? target : document.querySelector("label[for='" + target.id + "']");
    (label || field || target).scrollIntoView({ block: "center" });
    if (field) { field.focus({ preventScroll: true }); }
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", "#" + target.id); }
  });
})();

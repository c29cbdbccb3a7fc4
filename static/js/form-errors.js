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
    var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!field) { return; }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']");
    (label || field).scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", "#" + field.id); }
  });
})();

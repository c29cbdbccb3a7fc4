// Swagger UI (/api/docs/) draws a list box without a name for a parameter that takes several values from a
// list (axe: select-name, WCAG 4.1.2): the parameter's name sits in the next column, not in a <label>. Each such
// list box, whenever Swagger UI draws one (an operation opened), takes the name of its parameter.
(function () {
  "use strict";

  function name(control) {
    var row = control.closest("tr[data-param-name]");
    if (!row) return "";
    var location = row.getAttribute("data-param-in");
    return row.getAttribute("data-param-name") + (location ? " (" + location + ")" : "");
  }

  function label(root) {
    root.querySelectorAll("tr[data-param-name] select:not([aria-label]):not([aria-labelledby])").forEach(function (select) {
      var text = name(select);
      if (text) select.setAttribute("aria-label", text);
    });
  }

  var container = document.getElementById("swagger-ui");
  if (!container) return;
  new MutationObserver(function () { label(container); }).observe(container, { childList: true, subtree: true });
  label(container);
})();

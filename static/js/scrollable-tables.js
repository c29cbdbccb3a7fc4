// A DSFR table wider than its column scrolls sideways inside its container (.fr-table__container, or the
// table itself in the older markup). A keyboard user can scroll it only if that container takes the focus
// (WCAG 2.1.1; axe: scrollable-region-focusable). While it overflows, the container becomes a named region in
// the tab order; when it fits again (wider window, fonts loaded), it leaves the tab order.
(function () {
  "use strict";

  function label(container) {
    var table = container.matches("table") ? container : container.querySelector("table");
    var caption = table && table.querySelector("caption");
    var text = caption ? caption.textContent.trim().replace(/\s+/g, " ") : "";
    return (text ? text + " : " : "") + "tableau défilant horizontalement";
  }

  function update(container) {
    var overflows = container.scrollWidth > container.clientWidth + 1;
    if (overflows && !container.hasAttribute("tabindex")) {
      container.setAttribute("tabindex", "0");
      container.setAttribute("role", "region");
      container.setAttribute("aria-label", label(container));
      container.dataset.scrollableTable = "true";
    } else if (!overflows && container.dataset.scrollableTable === "true") {
      container.removeAttribute("tabindex");
      container.removeAttribute("role");
      container.removeAttribute("aria-label");
      delete container.dataset.scrollableTable;
    }
  }

  function start() {
    var containers = document.querySelectorAll(".fr-table__container, .fr-table > table");
    if ("ResizeObserver" in window) {
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) { update(entry.target); });
      });
      containers.forEach(function (container) {
        observer.observe(container);
        // The table inside may grow without its container changing size (a cell filled in).
        var table = container.matches("table") ? null : container.querySelector("table");
        if (table) observer.observe(table);
      });
    }
    containers.forEach(update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

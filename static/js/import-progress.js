// While an import runs in the background, refresh its status region every 3 seconds (the "Actualiser" link
// does the same by hand); once it is finished, reload the page to show the preview or the outcome.
(function () {
  "use strict";
  var region = document.getElementById("import-status");
  if (!region || !window.fetch) { return; }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("import-status");
        if (!fresh) { return; }
        if (!fresh.hasAttribute("data-import-running")) { window.location.reload(); return; }
        region.innerHTML = fresh.innerHTML;
        window.setTimeout(poll, 3000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 3000);
})();

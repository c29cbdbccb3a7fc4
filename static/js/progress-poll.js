// Polls a JSON progress view every few seconds, for static/js/report-progress.js (a compile) and
// static/js/export-progress.js (an export job). `update(data)` redraws the box and returns true to keep polling.
// On a network hiccup or a restart of the server, the manual "Actualiser" link (`refresh`) shows again and the
// next try waits longer.
window.chartePollProgress = function (url, update, refresh) {
  "use strict";
  var delay = 3000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        if (update(data)) { window.setTimeout(poll, delay); }
      })
      .catch(function () {
        if (refresh) { refresh.style.display = ""; }
        window.setTimeout(poll, 15000);
      });
  }
  window.setTimeout(poll, delay);
};

// An export job's progress (templates/exports/detail.html), updated in place from the JSON progress view every
// few seconds, as static/js/report-progress.js does for a compile: no page reload. Screen readers hear the polite
// live region #export-annonce once per quarter reached and at the end, never at each poll. When the job is over
// the box says so and offers the download (or the reason of the failure).
(function () {
  "use strict";
  var box = document.getElementById("export-en-cours");
  var live = document.getElementById("export-annonce");
  if (!box || !live || !window.fetch || !window.chartePollProgress) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("progression-export");
  var title = document.getElementById("export-titre");
  var detail = document.getElementById("export-detail");
  var next = document.getElementById("export-suite");
  var STEP = 25;
  var announcedStep = Math.floor(Number(bar.value) / STEP);

  var refresh = document.getElementById("export-actualiser");
  if (refresh) { refresh.style.display = "none"; }

  function lines(n) { return n + " ligne" + (n > 1 ? "s" : ""); }

  function finish(data) {
    var succeeded = data.succeeded;
    box.classList.remove("fr-alert--info");
    box.classList.add(succeeded ? "fr-alert--success" : "fr-alert--error");
    title.textContent = succeeded ? "Fichier prêt" : "L'export a échoué";
    bar.value = succeeded ? 100 : bar.value;
    detail.textContent = succeeded ? lines(data.rows_done) + "." : data.message;
    next.textContent = "";
    var link = document.createElement("a");
    link.className = succeeded ? "fr-btn fr-icon-download-line fr-btn--icon-left" : "fr-link";
    link.id = "telecharger-export";
    link.href = succeeded ? data.download_url : data.detail_url;
    link.textContent = succeeded ? "Télécharger le fichier (CSV)" : "Actualiser la page";
    next.appendChild(link);
    live.textContent = succeeded
      ? "Export terminé : le fichier est prêt. Le lien de téléchargement suit la barre d'avancement."
      : "L'export a échoué. " + data.message;
  }

  function update(data) {
    if (data.finished) { finish(data); return false; }
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    title.textContent = "Export : " + data.label.toLowerCase();
    detail.textContent = data.percent + " % — " + lines(data.rows_done) + " écrite" + (data.rows_done > 1 ? "s" : "")
      + (data.rows_total ? " sur " + data.rows_total : "") + ".";
    var step = Math.floor(data.percent / STEP);
    if (step > announcedStep) {
      announcedStep = step;
      live.textContent = "Export : " + data.percent + " %.";
    }
    return true;
  }

  window.chartePollProgress(url, update, refresh);
})();

// The compile's progress on a report page (templates/rapports/report.html), updated in place from the JSON
// progress view every few seconds instead of reloading the page. Screen readers hear it through the polite
// live region #compilation-annonce, once per quarter reached and at the end, never at each poll. When the
// run is over the box says so and links to the report with the new figures.
(function () {
  "use strict";
  var box = document.getElementById("compilation-en-cours");
  var live = document.getElementById("compilation-annonce");
  if (!box || !live || !window.fetch || !window.chartePollProgress) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("progression-compilation");
  var title = document.getElementById("compilation-titre");
  var detail = document.getElementById("compilation-detail");
  var next = document.getElementById("compilation-suite");
  var year = title.textContent.replace(/^\D*(\d{4}).*$/, "$1");
  var STEP = 25;
  var announcedStep = Math.floor(Number(bar.value) / STEP);

  // Without JavaScript the "Actualiser" link reloads the page; with it the box updates by itself.
  // (style, not the hidden attribute, which the DSFR link class overrides).
  var refresh = document.getElementById("compilation-actualiser");
  if (refresh) { refresh.style.display = "none"; }

  function plural(n, word) { return n + " " + word + (n > 1 ? "s" : ""); }

  function finish(data) {
    var succeeded = data.succeeded;
    box.classList.remove("fr-alert--info");
    box.classList.add(succeeded ? "fr-alert--success" : "fr-alert--error");
    title.textContent = "Compilation " + year + (succeeded ? " terminée" : " échouée");
    bar.value = succeeded ? 100 : bar.value;
    detail.textContent = succeeded
      ? "Les chiffres " + year + " sont publiés."
      : "Les chiffres publiés restent ceux de la compilation précédente. Relancez-la ou contactez l'assistance.";
    next.textContent = "";
    var link = document.createElement("a");
    link.className = "fr-link";
    link.id = "compilation-resultat";
    link.href = data.report_url;
    link.textContent = succeeded ? "Afficher les chiffres à jour" : "Actualiser la page";
    next.appendChild(link);
    live.textContent = succeeded
      ? "Compilation " + year + " terminée : les chiffres sont publiés. Un lien juste après la barre d'avancement affiche les chiffres à jour."
      : "La compilation " + year + " a échoué.";
  }

  function update(data) {
    if (!data.run || data.finished) { finish(data); return false; }
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    title.textContent = "Compilation " + year + " : " + data.label;
    detail.textContent = data.percent + " % — " + plural(data.units_done, "unité") + " de calcul terminée"
      + (data.units_done > 1 ? "s" : "") + " sur " + data.units_total + ".";
    var step = Math.floor(data.percent / STEP);
    if (step > announcedStep) {
      announcedStep = step;
      live.textContent = "Compilation " + year + " : " + data.percent + " %.";
    }
    return true;
  }

  window.chartePollProgress(url, update, refresh);
})();

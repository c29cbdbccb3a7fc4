// Optional enhancement of the company form: an "add a row" button per inline formset.
// Without JavaScript the form still works: one empty row is always offered, more after saving.
(function () {
  "use strict";
  document.querySelectorAll(".entreprises-formset").forEach(function (formset) {
    var prefix = formset.dataset.prefix;
    var total = formset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = formset.querySelector("template.entreprises-formset__empty");
    var rows = formset.querySelector(".entreprises-formset__rows");
    var button = formset.querySelector(".entreprises-formset__add");
    if (!total || !template || !rows || !button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus();
      }
    });
  });
})();

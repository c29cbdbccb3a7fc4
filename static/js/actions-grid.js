// Optional enhancement of the actions grid: an "Ajouter une ligne" button. Without JavaScript the grid
// still works: it offers the number of empty rows asked for in its first step.
(function () {
  "use strict";
  var button = document.getElementById("grid-add-row");
  var template = document.getElementById("grid-empty-row");
  var rows = document.getElementById("grid-rows");
  var total = document.querySelector("input[name='lignes-TOTAL_FORMS']");
  if (!button || !template || !rows || !total) {
    return;
  }
  var max = parseInt(button.dataset.max, 10);
  button.hidden = false;
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (index >= max) {
      button.disabled = true;
      return;
    }
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__num__/g, String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    if (index + 1 >= max) {
      button.disabled = true;
    }
    var first = rows.lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
    if (first) {
      first.focus();
    }
  });
})();

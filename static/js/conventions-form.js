// Optional help on the convention form: narrows drop-down lists to the options that fit what is already
// chosen (action types of the chosen family, framework charters of the chosen département). The form
// works without it: the server checks the same rules and explains any mismatch at the field.
(function () {
  "use strict";

  function narrow(select, attribute, wanted) {
    if (!select) return;
    Array.prototype.forEach.call(select.options, function (option) {
      var value = option.getAttribute(attribute);
      var fits = !wanted || value === null || value === wanted;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) select.value = "";
    });
  }

  function bindCommitmentRows() {
    document.querySelectorAll("[data-commitment-row]").forEach(function (row) {
      var family = row.querySelector("[data-family-select]");
      var actionType = row.querySelector("[data-action-type]");
      if (!family || !actionType) return;
      var update = function () { narrow(actionType, "data-family", family.value); };
      family.addEventListener("change", update);
      update();
    });
  }

  function bindFramework() {
    var departement = document.querySelector("[data-controls-framework]");
    var framework = document.getElementById("id_framework");
    if (!departement || !framework) return;
    var update = function () { narrow(framework, "data-departement", departement.value); };
    departement.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindCommitmentRows();
    bindFramework();
  });
})();

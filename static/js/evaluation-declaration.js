// Optional comfort on the declaration page: confirm before submitting, and warn before leaving with unsaved
// values. The page works the same without it.
(function () {
  "use strict";
  var form = document.getElementById("declaration-form");
  if (!form) {
    return;
  }
  var dirty = false;
  form.addEventListener("input", function () {
    dirty = true;
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();

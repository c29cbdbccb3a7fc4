/*
 * Suggestions for the filters with thousands of choices (companies, conventions). Progressive enhancement:
 * without JavaScript the input still accepts an id, a SIREN, a reference or an exact name. With it, the
 * input's native <datalist> (announced by screen readers, driven by the keyboard like any datalist) is
 * filled with up to 20 rows of the reader's scope, from the endpoint named in data-autocomplete-url.
 */
(function () {
  "use strict";

  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-autocomplete-url");
    if (!list || !url || !window.fetch) {
      return;
    }
    var timer = null;
    var last = null;

    function fill(results) {
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      results.forEach(function (row) {
        var option = document.createElement("option");
        option.value = row.label;
        list.appendChild(option);
      });
    }

    function search() {
      var text = input.value.trim();
      if (text === last) {
        return;
      }
      last = text;
      fetch(url + "?q=" + encodeURIComponent(text), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          // An answer for an older text arriving late must not replace the current suggestions.
          if (input.value.trim() === text) {
            fill(data.results || []);
          }
        })
        .catch(function () {
          /* No suggestions: the input keeps working without them. */
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    input.addEventListener("focus", search);
  }

  document.querySelectorAll("input[data-autocomplete-url]").forEach(attach);
})();

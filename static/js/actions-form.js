/*
 * Action logging form: optional helpers for speed. Without JavaScript the select and the checkbox
 * lists work as they are; with it, each gets a text filter, and the QPV list only shows the groups of
 * the chosen département (ticked QPV always stay visible).
 */
(function () {
  "use strict";

  function normalise(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  var counter = 0;

  function searchBox(labelText, hint) {
    counter += 1;
    var id = "actions-filter-" + counter;
    var group = document.createElement("div");
    group.className = "fr-input-group fr-mb-1w";
    var label = document.createElement("label");
    label.className = "fr-label";
    label.setAttribute("for", id);
    label.textContent = labelText;
    if (hint) {
      var span = document.createElement("span");
      span.className = "fr-hint-text";
      span.textContent = hint;
      label.appendChild(span);
    }
    var input = document.createElement("input");
    input.className = "fr-input";
    input.type = "search";
    input.id = id;
    input.autocomplete = "off";
    group.appendChild(label);
    group.appendChild(input);
    return { group: group, input: input };
  }

  // The action type <select>: hide the options (and emptied families) that do not match.
  function enhanceSelect(wrapper) {
    var select = wrapper.querySelector("select");
    if (!select) return;
    var box = searchBox("Rechercher un type d'action", "Tapez quelques lettres, par exemple « stage » ou « mécénat ».");
    box.input.setAttribute("aria-controls", select.id);
    wrapper.insertBefore(box.group, wrapper.firstChild);
    box.input.addEventListener("input", function () {
      var query = normalise(box.input.value);
      var firstMatch = null;
      select.querySelectorAll("optgroup").forEach(function (group) {
        // Typing a family name ("mécénat", "RSE") shows the whole family.
        var groupMatches = query && normalise(group.label).indexOf(query) !== -1;
        var visible = 0;
        group.querySelectorAll("option").forEach(function (option) {
          var ownMatch = !query || normalise(option.textContent).indexOf(query) !== -1;
          var show = ownMatch || groupMatches;
          option.hidden = !show;
          option.disabled = !show && !option.selected;
          if (show) visible += 1;
          if (query && ownMatch && !firstMatch) firstMatch = option;
        });
        group.hidden = visible === 0;
      });
      // The typed search picks the obvious match, unless a visible type is already chosen.
      var current = select.options[select.selectedIndex];
      if (firstMatch && (select.selectedIndex <= 0 || current.hidden)) {
        firstMatch.selected = true;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }

  function applyVisibility(list, query, departement) {
    list.querySelectorAll("[data-checklist-group]").forEach(function (group) {
      var inDepartement = !departement || group.getAttribute("data-departement") === departement;
      var visible = 0;
      group.querySelectorAll("[data-checklist-item]").forEach(function (item) {
        var checkbox = item.querySelector("input");
        var matches = !query || normalise(item.textContent).indexOf(query) !== -1;
        var show = checkbox.checked || (inDepartement && matches);
        item.hidden = !show;
        if (show) visible += 1;
      });
      group.hidden = visible === 0;
    });
    list.querySelectorAll(":scope > [data-checklist-item]").forEach(function (item) {
      var checkbox = item.querySelector("input");
      item.hidden = !(checkbox.checked || !query || normalise(item.textContent).indexOf(query) !== -1);
    });
  }

  function enhanceChecklist(fieldset, departementSelect) {
    var list = fieldset.querySelector("[data-checklist-items]");
    if (!list) return;
    var box = searchBox(fieldset.getAttribute("data-filter-label") || "Filtrer la liste", "Les cases cochées restent affichées.");
    box.input.setAttribute("aria-controls", list.id || "");
    var element = document.createElement("div");
    element.className = "fr-fieldset__element";
    element.appendChild(box.group);
    fieldset.insertBefore(element, list);
    var isQpv = fieldset.id === "fieldset-qpvs";
    function refresh() {
      var departement = isQpv && departementSelect ? departementSelect.value : "";
      applyVisibility(list, normalise(box.input.value), departement);
    }
    box.input.addEventListener("input", refresh);
    if (isQpv && departementSelect) departementSelect.addEventListener("change", refresh);
    refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The action form, and the convention form for its list of companies.
    var form = document.getElementById("action-form") || document.getElementById("convention-form");
    if (!form) return;
    form.querySelectorAll("[data-searchable-select]").forEach(enhanceSelect);
    var departementSelect = form.querySelector("select[name='departement']");
    form.querySelectorAll("[data-checklist]").forEach(function (fieldset) {
      enhanceChecklist(fieldset, departementSelect);
    });
  });
})();

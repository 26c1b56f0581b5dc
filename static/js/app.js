// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // A filter box above long selects (cached Zoho lists): type to narrow the options.
  function searchable(select) {
    if (select.dataset.enhanced) return;
    select.dataset.enhanced = "yes";
    var box = document.createElement("input");
    box.type = "search";
    box.placeholder = "Type to filter…";
    box.className = "select-filter";
    box.setAttribute("aria-label", "Filter " + (select.getAttribute("aria-label") || select.name));
    box.addEventListener("input", function () {
      var needle = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.options, function (option) {
        option.hidden = needle !== "" && option.value !== "" &&
          option.text.toLowerCase().indexOf(needle) === -1;
      });
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        var first = Array.prototype.find.call(select.options, function (o) { return !o.hidden && o.value; });
        if (first) { select.value = first.value; select.focus(); }
      }
    });
    select.parentNode.insertBefore(box, select);
  }

  // Drag and drop onto the upload area sends the files at once.
  function dropzone(form) {
    var label = form.querySelector(".dropzone-label");
    var input = form.querySelector("input[type=file]");
    if (!label || !input) return;
    ["dragenter", "dragover"].forEach(function (name) {
      label.addEventListener(name, function (event) { event.preventDefault(); label.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      label.addEventListener(name, function () { label.classList.remove("dragging"); });
    });
    label.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      input.files = event.dataTransfer.files;
      form.submit();
    });
  }

  // Forms that ask before they act carry data-confirm (no inline handlers: the CSP forbids them).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function enhance(root) {
    root.querySelectorAll("select[data-search]").forEach(searchable);
    root.querySelectorAll("form.dropzone").forEach(dropzone);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();

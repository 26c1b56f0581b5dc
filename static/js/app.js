// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // A picker (templates/_picker.html): a combobox whose matches htmx fetches into a listbox.
  // Arrows move, Enter or a click picks, Escape gives back the chosen value; the hidden input
  // holds the chosen id and fires "change" when it changes. Leaving the box with text that
  // was not picked puts the chosen name back; leaving it empty clears the choice.
  function picker(box) {
    if (box.dataset.enhanced) return;
    box.dataset.enhanced = "yes";
    var input = box.querySelector("[role=combobox]");
    var hidden = box.querySelector("input[type=hidden]");
    var chosen = input.value;  // the name of what the hidden input holds
    input.readOnly = false;

    // The listbox is swapped on every search, so look it up each time.
    function list() { return document.getElementById(input.getAttribute("aria-controls")); }
    function isOpen() { return !list().hidden; }
    function options() {
      return Array.prototype.slice.call(list().querySelectorAll("[role=option]:not([aria-disabled=true])"));
    }
    function active() { return list().querySelector("[role=option][aria-selected=true]"); }
    function open() {
      if (!list().children.length) return;
      list().hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() {
      list().hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(option) {
      var current = active();
      if (current) current.setAttribute("aria-selected", "false");
      option.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
    function move(step) {
      var all = options();
      if (!all.length) return;
      open();
      var index = all.indexOf(active()) + step;
      highlight(all[Math.max(0, Math.min(all.length - 1, index))]);
    }
    function choose(value, name) {
      var changed = hidden.value !== value;
      hidden.value = value;
      input.value = chosen = name;
      close();
      if (changed) hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && isOpen()) {
        event.preventDefault();  // picking is not submitting the form
        var all = options();
        var pick = active() || (all.length === 1 ? all[0] : null);
        if (pick) choose(pick.dataset.value, pick.dataset.label);
      } else if (event.key === "Escape" && isOpen()) {
        event.preventDefault();
        input.value = chosen;
        close();
      }
    });
    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("blur", function () {
      close();
      if (input.value.trim() === "") {
        if (hidden.value) choose("", "");
      } else {
        input.value = chosen;
      }
    });
    // Unchanged text (the chosen name, shown on focus) browses the list from the start.
    input.addEventListener("htmx:configRequest", function (event) {
      if (input.value === chosen) event.detail.parameters.q = "";
    });
    box.addEventListener("htmx:afterSwap", function () {
      if (document.activeElement === input) open(); else close();
    });
    // A press on the list must not blur the box before the click picks.
    box.addEventListener("mousedown", function (event) {
      if (event.target.closest("[role=listbox]")) event.preventDefault();
    });
    box.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]:not([aria-disabled=true])");
      if (option) choose(option.dataset.value, option.dataset.label);
    });
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

  // A card that reloads itself when a job ends (hx-trigger="job-finished") must not wipe
  // what a person is typing in it: a field typed in and not yet submitted is marked, and a
  // card holding one is not swapped (the next job's end, or a reload, brings it).
  function markEdited(event) {
    var field = event.target;
    if (field.matches && field.matches("input, select, textarea")) field.dataset.edited = "yes";
  }
  document.addEventListener("input", markEdited, true);
  document.addEventListener("change", markEdited, true);
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll("[data-edited]").forEach(function (field) {
      delete field.dataset.edited;
    });
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var trigger = target && target.getAttribute("hx-trigger");
    if (trigger && trigger.indexOf("job-finished") === 0 && target.querySelector("[data-edited]")) {
      event.detail.shouldSwap = false;
    }
  });

  // On a phone the main menu folds behind its "Menu" button (hidden in the HTML, so that
  // without JavaScript the links simply stay in view). Escape folds it back.
  function menu() {
    var button = document.querySelector(".menu-button");
    if (!button) return;
    button.hidden = false;
    function set(open) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        set(false);
        button.focus();
      }
    });
  }

  // A table scrolls inside its card rather than the page. While it is wider than its card
  // its box is a named region that takes focus, so the keyboard can scroll it too.
  function tableName(table) {
    var caption = table.querySelector("caption");
    if (caption) return caption.textContent.trim();
    if (table.getAttribute("aria-label")) return table.getAttribute("aria-label");
    var holder = table.closest(".card, section, main");
    var heading = holder && holder.querySelector("h1, h2, h3");
    return heading ? heading.textContent.replace(/\s+/g, " ").trim() : "Table";
  }
  function scrollingTable(table) {
    var box = table.parentElement;
    if (!box.classList.contains("table-scroll")) {
      box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    }
    fitTable(box);
  }
  function fitTable(box) {
    var table = box.querySelector("table");
    if (!table) return;
    if (box.scrollWidth > box.clientWidth + 1) {
      if (box.dataset.scrolls) return;
      box.dataset.scrolls = "yes";
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", tableName(table) + " (scrolls sideways)");
    } else if (box.dataset.scrolls) {
      delete box.dataset.scrolls;
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      document.querySelectorAll("main .table-scroll").forEach(fitTable);
    }, 100);
  });

  function fitTables(root) {
    if (root.matches && root.matches("main table")) scrollingTable(root);
    root.querySelectorAll("table").forEach(function (table) {
      if (table.closest("main")) scrollingTable(table);
    });
  }
  function enhance(root) {
    root.querySelectorAll("[data-picker]").forEach(picker);
    root.querySelectorAll("form.dropzone").forEach(dropzone);
    fitTables(root);
  }

  document.addEventListener("DOMContentLoaded", function () { menu(); enhance(document); });
  // Tables are fitted in the same moment htmx puts them in the page (afterSwap), not at
  // htmx:load, which comes after the settle delay: between the two a wide table would be a
  // scrolling box the keyboard cannot reach.
  document.addEventListener("htmx:afterSwap", function (event) { fitTables(event.target); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();

// jobqueue dashboard: polling guard, JSON payload check, DLQ selection helpers. No dependencies but htmx.
(function () {
  "use strict";

  // Live regions poll only while the tab is visible and the user is not in the middle of something
  // inside the region (a checked box or a focused field would be lost when the region is swapped).
  window.dash = {
    shouldPoll: function (el) {
      if (document.hidden) return false;
      if (el.querySelector("input.sel:checked")) return false;
      var active = document.activeElement;
      return !(active && el.contains(active) && active.matches("input, textarea, select"));
    }
  };

  function payloadError(text) {
    if (!text.trim()) return "";
    var value;
    try { value = JSON.parse(text); } catch (e) { return "Not valid JSON: " + e.message; }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return "The payload must be a JSON object, like {\"seconds\": 2}.";
    }
    return "";
  }

  function checkPayload(area) {
    var message = payloadError(area.value);
    var list = document.getElementById(area.name + "-errors");
    area.setCustomValidity(message);
    area.setAttribute("aria-invalid", message ? "true" : "false");
    area.closest(".field").classList.toggle("has-error", !!message);
    if (list) {
      list.textContent = "";
      if (message) { var li = document.createElement("li"); li.textContent = message; list.appendChild(li); }
    }
    return !message;
  }

  function showTask(select) {
    document.querySelectorAll(".task-help li").forEach(function (li) {
      li.hidden = li.dataset.task !== select.value;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-json]").forEach(function (area) {
      area.addEventListener("input", function () { checkPayload(area); });
      area.form.addEventListener("submit", function (event) {
        if (!checkPayload(area)) { event.preventDefault(); area.focus(); }
      });
    });
    var task = document.querySelector("[data-submit-form] select[name=task]");
    if (task) { showTask(task); task.addEventListener("change", function () { showTask(task); }); }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-select-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll("input.sel").forEach(function (box) { box.checked = event.target.checked; });
    }
  });
})();

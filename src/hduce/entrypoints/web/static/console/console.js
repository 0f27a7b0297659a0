// The console's only script of its own (no inline scripts: the CSP allows none).
// htmx does the rest: forms and links (hx-boost), the live bell (SSE extension).
(function () {
  "use strict";

  // Registration: propose the browser's time zone.
  function detectTimezone(root) {
    root.querySelectorAll("[data-detect-timezone]").forEach(function (input) {
      if (input.value && input.value !== "UTC") return;
      try {
        var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        if (zone) input.value = zone;
      } catch (e) { /* keep UTC */ }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { detectTimezone(document); });
  document.addEventListener("htmx:load", function (event) { detectTimezone(event.target); });

  // After a boosted navigation, move focus to the new page's main content so screen
  // readers and keyboard users start at the top of what changed.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });
})();

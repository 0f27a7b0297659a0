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

  // Sessions: access tokens are short-lived (HDUCE_ACCESS_TOKEN_TTL); the refresh token
  // lives in a cookie only sent to /api/v1/auth. Trade it for a new pair a minute
  // before the access token expires, with the CSRF header the API asks of cookie
  // sessions, so pages and the live bell keep working while the tab is open.
  var REFRESH_URL = "/api/v1/auth/refresh";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)__Host-hduce_csrf=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function refresh() {
    return fetch(REFRESH_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() }
    }).then(function (response) {
      if (!response.ok) throw new Error("refresh refused: " + response.status);
      return response.json();
    });
  }

  var timer = null;
  function keepAlive(expiresInSeconds) {
    if (timer) clearTimeout(timer);
    var wait = Math.max(5, expiresInSeconds - 60) * 1000;
    timer = setTimeout(function () {
      refresh().then(function (tokens) { keepAlive(tokens.expires_in); }, function () {});
    }, wait);
  }

  function startSession() {
    var body = document.body;
    var expires = Number(body.getAttribute("data-session-expires"));
    if (expires) keepAlive(expires - Date.now() / 1000);
    var resume = body.getAttribute("data-resume");
    // The sign-in page after an expired access token: the refresh cookie may still
    // hold the session. Try once per visit, then go back to where the person was.
    if (resume && !sessionStorage.getItem("hduce-resumed")) {
      sessionStorage.setItem("hduce-resumed", "1");
      refresh().then(function () { window.location.replace(resume); }, function () {});
    } else if (!resume) {
      sessionStorage.removeItem("hduce-resumed");
    }
  }

  document.addEventListener("DOMContentLoaded", startSession);

  // After a boosted navigation, move focus to the new page's main content so screen
  // readers and keyboard users start at the top of what changed.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });
})();

// Copy buttons (calendar feeds): <button data-copy="input-id"> copies that input's
// value, and says so in the page's #copy-status live region.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    var status = document.getElementById("copy-status");
    function said() { if (status) status.textContent = status.getAttribute("data-copied") || ""; }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(said, function () { input.select(); });
    } else {
      input.select();
    }
  });
})();

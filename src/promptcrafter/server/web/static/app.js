// Progressive enhancement only: every page works without this file.
// Live search: the library's results follow the search box as you type.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-search]");
  if (!form) return;
  var results = document.getElementById("results");
  var timer = null;
  var latest = 0;
  function refresh() {
    var params = new URLSearchParams(new FormData(form));
    var shown = params.toString();
    params.set("partial", "1");
    var asked = ++latest;
    fetch("/?" + params.toString(), { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || asked !== latest) return;
        results.innerHTML = html;
        history.replaceState(null, "", "/?" + shown);
      })
      .catch(function () { /* the form still submits the old way */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
})();

// A running run's page follows its progress: every 2 s the progress part is fetched again, and
// the whole page is loaded once the run has ended (to show its leaderboard and results).
(function () {
  "use strict";
  var live = document.querySelector("[data-live-run]");
  if (!live) return;
  var every = 2000;
  function poll() {
    fetch(live.getAttribute("data-live-run"), { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) window.location.reload();  // signed out meanwhile
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          var fresh = document.createElement("template");
          fresh.innerHTML = html;
          if (fresh.content.querySelector("[data-finished]")) {
            window.location.reload();
            return;
          }
          live.replaceChildren(fresh.content);
        }
        setTimeout(poll, every);
      })
      .catch(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();

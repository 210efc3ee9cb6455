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

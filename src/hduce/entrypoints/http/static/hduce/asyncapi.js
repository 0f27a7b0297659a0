// Renders the AsyncAPI document of the events at /schema/asyncapi with the vendored
// @asyncapi/react-component bundle (window.AsyncApiStandalone). A file rather than an
// inline script: the page's Content-Security-Policy runs scripts from this origin only.
// The document's URL comes from the page (data-url), where the server put it.
(function () {
  "use strict";

  var element = document.getElementById("asyncapi");
  var url = element.getAttribute("data-url");
  // FastStream's choices for this page; no "try it out" plugin: it documents, it does not publish.
  var config = {
    show: {
      sidebar: true,
      info: true,
      servers: true,
      operations: true,
      messages: true,
      schemas: true,
      errors: true,
    },
    expand: { messageExamples: true },
    sidebar: { showServers: "byDefault", showOperations: "byDefault" },
  };

  function fail(message) {
    element.textContent = "The AsyncAPI document could not be shown (" + message + "); it is at ";
    var link = document.createElement("a");
    link.href = url;
    link.textContent = url;
    element.appendChild(link);
  }

  if (!window.AsyncApiStandalone) {
    // The bundle did not load or start (its console error says why: often the CSP).
    fail("the viewer did not load");
    return;
  }

  fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      // Text, not parsed JSON: the parser's error locations then point into it.
      return response.text();
    })
    .then(function (schema) {
      window.AsyncApiStandalone.render({ schema: schema, config: config }, element);
    })
    .catch(function (error) {
      fail(error.message);
    });
})();

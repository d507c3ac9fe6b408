// The API reference page: Swagger UI reading the OpenAPI document, as a read-only reference.
(function () {
  "use strict";
  var root = document.getElementById("reference");

  // What Swagger UI leaves out for keyboards and screen readers: a name on some <select>s (the
  // server list, enum parameters) and a tab stop on the examples that scroll sideways.
  function mendAccessibility() {
    root.querySelectorAll("pre.microlight:not([tabindex])").forEach(function (example) {
      example.setAttribute("tabindex", "0");
    });
    root.querySelectorAll("select:not([aria-label])").forEach(function (select) {
      var row = select.closest("tr[data-param-name]");
      if (select.id === "servers") {
        select.setAttribute("aria-label", "Server");
      } else if (row) {
        select.setAttribute("aria-label", row.getAttribute("data-param-name"));
      }
    });
  }

  // Hides the Authorize buttons (the page's and each operation's padlock): with no "Try it
  // out" there is nothing to authorise; each operation's description names its token.
  function ReadOnly() {
    var nothing = function () { return function () { return null; }; };
    return { wrapComponents: { authorizeBtn: nothing, authorizeOperationBtn: nothing } };
  }

  window.SwaggerUIBundle({
    url: root.getAttribute("data-document-url"),
    domNode: root,
    supportedSubmitMethods: [],
    syntaxHighlight: { activated: false }, // its themes' colours fall below AA contrast
    validatorUrl: null, // never send the document to validator.swagger.io
    deepLinking: false, // its links inside the summary buttons would nest interactive controls
    plugins: [ReadOnly],
  });
  new MutationObserver(mendAccessibility).observe(root, { childList: true, subtree: true });
})();

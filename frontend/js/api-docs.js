// The API reference page (/schema): Swagger UI from our own assets, reading our schema.
// A file of its own rather than an inline script, so that the page's policy allows no inline code.
window.ui = SwaggerUIBundle({
  url: "/schema/openapi.json",
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});

// Two things Swagger UI draws that assistive technology cannot use, mended as it draws them:
// each operation's path is a link inside the button that opens it (a control inside a
// control; the button alone opens it and, with deep linking, puts it in the address, so the
// inner link loses its address and is plain text), and the servers' list has no name.
function mend(root) {
  for (const link of root.querySelectorAll(".opblock-summary-control a[href]")) link.removeAttribute("href");
  const servers = root.querySelector("#servers:not([aria-label])");
  servers?.setAttribute("aria-label", "Server");
}
const container = document.getElementById("swagger-container");
new MutationObserver(() => mend(container)).observe(container, { childList: true, subtree: true });

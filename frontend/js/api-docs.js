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

// Swagger UI for /openapi.json, served from the package (no CDN) and started from a
// file rather than an inline script, so the page keeps the strict CSP.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });

/**
 * A host for MCP Apps in a test page, written from the extension's specification
 * (`io.modelcontextprotocol/ui`, 2026-01-26): it renders an app's HTML in a sandboxed iframe
 * (`allow-scripts` only, so the app's origin is opaque) under the Content-Security-Policy built
 * from the resource's declared `_meta.ui.csp`, answers `ui/initialize` with a host context,
 * sends the tool's input and result after `ui/notifications/initialized`, and forwards the app's
 * `tools/call` to the test (which calls the server through a real MCP client, refusing tools
 * whose visibility leaves out the app) and the app's `notifications/cancelled` (which cancels
 * the forwarded call); `ui/download-file` requests are kept in `window.downloads`, and the
 * frame may write the clipboard (the studio asks for `clipboardWrite`).
 *
 * @module
 */

/** The resource's declared CSP, as `_meta.ui.csp` carries it. */
export interface DeclaredCsp {
  connectDomains?: string[];
  resourceDomains?: string[];
}

/** The policy a host applies for `csp`: nothing beyond the app's own inline code and data. */
export function hostPolicy(csp: DeclaredCsp): string {
  const resources = (csp.resourceDomains ?? []).join(" ");
  const connect = (csp.connectDomains ?? []).join(" ") || "'none'";
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`.trim(),
    `style-src 'unsafe-inline' ${resources}`.trim(),
    `img-src data: ${resources}`.trim(),
    `font-src ${resources || "'none'"}`,
    `connect-src ${connect}`,
  ].join("; ");
}

/**
 * The host page; `window.startApp(html, policy, input, result, theme, toolName?)` mounts the app
 * (naming the tool in the host context's optional `toolInfo` when given) and
 * `window.setTheme(theme)` tells it the host's theme changed; `window.toApp(message)` posts a
 * message to it (progress of a forwarded call).
 */
export const HOST_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host</title></head>
<body style="margin:0">
<script>
window.downloads = [];
window.startApp = function (html, policy, toolInput, toolResult, theme, toolName) {
  var frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("allow", "clipboard-write");
  frame.setAttribute("title", "MCP App");
  frame.style.cssText = "width:100%;height:600px;border:0;display:block";
  var meta = '<meta http-equiv="Content-Security-Policy" content="' + policy + '">';
  frame.srcdoc = html.replace("<head>", "<head>" + meta);
  function send(message) { frame.contentWindow.postMessage(message, "*"); }
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) return;
    var m = event.data;
    if (!m || m.jsonrpc !== "2.0" || !m.method) return;
    if (m.method === "ui/initialize") {
      send({ jsonrpc: "2.0", id: m.id, result: {
        protocolVersion: m.params.protocolVersion,
        hostInfo: { name: "test-host", version: "1.0.0" },
        hostCapabilities: { serverTools: {}, downloadFile: {} },
        hostContext: Object.assign({ theme: theme, displayMode: "inline", platform: "web" },
          toolName ? { toolInfo: { tool: { name: toolName, inputSchema: { type: "object" } } } } : {}),
      } });
    } else if (m.method === "ui/notifications/initialized") {
      send({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: { arguments: toolInput } });
      send({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: toolResult });
    } else if (m.method === "ui/notifications/size-changed") {
      if (m.params.height) frame.style.height = Math.ceil(m.params.height) + "px";
    } else if (m.method === "ui/download-file") {
      window.downloads.push(m.params);
      send({ jsonrpc: "2.0", id: m.id, result: {} });
    } else if (m.method === "notifications/cancelled") {
      window.hostCancel(m.params.requestId);
    } else if (m.id !== undefined) {
      window.hostForward(m.id, m.method, m.params).then(function (result) {
        send({ jsonrpc: "2.0", id: m.id, result: result });
      }, function (error) {
        send({ jsonrpc: "2.0", id: m.id, error: { code: -32603, message: String(error && error.message || error) } });
      });
    }
  });
  document.body.append(frame);
  window.toApp = send;
  window.setTheme = function (next) {
    send({ jsonrpc: "2.0", method: "ui/notifications/host-context-changed", params: { theme: next } });
  };
};
</script>
</body></html>`;

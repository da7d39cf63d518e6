/**
 * Request metrics: count and duration by method, ROUTE TEMPLATE (`/images/:file`, never the raw
 * path, so label values stay bounded) and status.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { ServiceMetrics } from "../../metrics.ts";

/** The template of the route that answered `c`, or null when only middleware matched. */
export function routeTemplate(c: Context): string | null {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    // Middleware registered with `use` matches as method ALL; handlers have a method.
    if (routes[i].method !== "ALL") return routes[i].path;
  }
  return null;
}

/** Middleware recording every request into `metrics`. */
export function httpMetrics(metrics: ServiceMetrics): MiddlewareHandler {
  return async function httpMetricsMiddleware(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.observeHttpRequest({
        method: c.req.method,
        route: routeTemplate(c),
        status: c.res.status,
        durationSeconds: (performance.now() - started) / 1000,
      });
    }
  };
}

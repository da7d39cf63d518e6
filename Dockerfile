# The HTTP service (REST API, OpenAI-compatible /v1, MCP over Streamable HTTP, gallery) in a
# container. It listens on 0.0.0.0, and the service refuses a non-loopback bind without auth, so
# give it MCP_AUTH_TOKEN (or create API keys with the CLI against the same /data volume):
#
#   docker build -t openai-image-http .
#   docker run -p 3000:3000 -e OPENAI_API_KEY=sk-... -e MCP_AUTH_TOKEN=$(openssl rand -hex 32) \
#     -v openai-image-data:/data openai-image-http
#
# Everything the service keeps (images, the KV database, logs) lives under DATA_DIR=/data.
FROM denoland/deno:2.9.6

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data

WORKDIR /app
RUN mkdir -p /data && chown deno:deno /data /app

# The image's unprivileged user; nothing below runs as root.
USER deno

# Locked dependencies first, so a code change reuses this layer.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno src ./src
RUN deno install --frozen --entrypoint src/main_http.ts

VOLUME ["/data"]
EXPOSE 3000

# /health needs no auth; `deno eval` is the only HTTP client in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --start-interval=2s --retries=3 \
  CMD ["deno", "eval", "--no-config", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '3000'}/health`); await r.body?.cancel(); Deno.exit(r.ok ? 0 : 1);"]

# The `serve` task of deno.json, under the `http` permission set.
CMD ["deno", "run", "-P=http", "src/main_http.ts"]

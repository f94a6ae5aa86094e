# syntax=docker/dockerfile:1
# One image for Baton's worker and API; the command chooses which runs (docker-compose.yml):
#   node --import tsx worker/main.ts     the worker
#   node --import tsx api/server.ts      the API (the default)
# Baton runs its TypeScript through tsx, a runtime dependency: there is no build step, and
# the image carries no dev dependencies (no test tools, no type checker, no linters).

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only, installed from the lockfile. The Temporal SDK's native core
# ships prebuilt for linux-x64 and linux-arm64 glibc inside its npm package: nothing is
# compiled or downloaded at install time.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY config ./config
COPY templates ./templates
COPY workflows ./workflows
COPY schedules ./schedules
COPY activities ./activities
COPY channels ./channels
COPY api ./api
COPY worker ./worker
COPY scripts/token.ts ./scripts/token.ts
# The code belongs to root and cannot be changed by the process; only the data folder (the
# outbox, incident records, the delivery ledger, used email links) is Baton's to write.
# The worker bundles workflows/ in memory when it starts (a few seconds of CPU); nothing
# is written there.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENV BATON_DATA_DIR=/app/data
VOLUME ["/app/data"]
# 3000: the API (and its /metrics); 9464: the worker's metrics exporter (BATON_WORKER_METRICS).
EXPOSE 3000 9464
# Baton handles SIGTERM itself: the API finishes its requests, the worker its tasks
# (shutdown.api.graceTime, shutdown.worker.graceTime). Run it with an init (compose's
# `init: true`) so that signals reach it and nothing is left unreaped.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "api/server.ts"]

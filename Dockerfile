# okr-metrics image: the built command and its production dependencies on Node 20.
# `docker compose up` builds it; docker/start.sh picks demo or serve mode.
FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY exporters ./exporters
RUN npm run build && npm prune --omit=dev

FROM node:20.19.5-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json okrs.example.yaml okrs.dora.example.yaml okr-schema.json ./
COPY dashboards ./dashboards
COPY provisioning ./provisioning
COPY docker/start.sh /usr/local/bin/okr-metrics-start
# promtool turns the demo's history into TSDB blocks; the same release as the compose Prometheus.
COPY --from=prom/prometheus:v2.53.4 /bin/promtool /usr/local/bin/promtool
# Owned like prom/prometheus's /prometheus: whichever container first mounts the shared volume,
# Prometheus (uid 65534) can write to it.
RUN mkdir -p /prometheus && chown 65534:65534 /prometheus
EXPOSE 9797
ENTRYPOINT ["/bin/sh", "/usr/local/bin/okr-metrics-start"]

# The Lifeboat worker image. Build it from the repository root:
#   docker build -f deploy/worker.Dockerfile -t lifeboat-worker .
# (deploy/compose.yaml and docker-compose.yml do.) The CLI is in the same image:
#   docker compose -f deploy/compose.yaml exec worker node bin/lifeboat.js backups app

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
COPY workflows workflows
COPY activities activities
COPY dev dev
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20.2-bookworm-slim
# pg_dump, pg_restore and psql 17 from PostgreSQL's own apt repository: a pg_dump dumps servers of
# its own major version and older, so 17 covers every supported server (12 to 17); Debian's own
# client is 15. The repository's signing key is checked against its published fingerprint.
# mariadb-client for MySQL-compatible engines, zstd/gzip for compression, age and gnupg for
# encrypting backups.
ARG PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    gpg --batch --show-keys --with-colons /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      | grep -q "^fpr:::::::::${PGDG_KEY_FINGERPRINT}:"; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-client-17 mariadb-client zstd gzip age gnupg; \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*; \
    /usr/lib/postgresql/17/bin/pg_dump --version
WORKDIR /app
ENV NODE_ENV=production
# A worker's memory: V8's young generation capped at 2 MiB semi-spaces (it grows to 16 MiB by
# default) and two malloc arenas instead of one per thread hold its peak RSS about 70 MiB lower
# during a backup, for no measurable CPU (README "What makes it fast, and what it costs in memory").
ENV NODE_OPTIONS=--max-semi-space-size=2 MALLOC_ARENA_MAX=2
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin bin
COPY runbooks runbooks
USER node
ENTRYPOINT ["node", "bin/lifeboat.js"]
CMD ["worker"]

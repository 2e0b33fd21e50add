# syntax=docker/dockerfile:1.7
# The control plane image: `docker build -f deploy/docker/control-plane.Dockerfile -t stepgate-control-plane .`
# The control plane is not a published package: the image is the workspace built by the same
# `npm ci` + `npm run build` CI runs before its tests, with development dependencies pruned.
# It serves the console's built files (apps/console/dist) and applies prisma/migrations on
# start (scripts/db/migrate.mjs, run by the app in a child process with the WASM flag).

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# CI runs npm 11; the lockfile is resolved with it.
RUN npm install --global npm@11.19.1
COPY . .
# Dependencies' install scripts do not run in CI either (npm 11 without allowScripts).
RUN npm ci --ignore-scripts \
  && npm run build \
  && npm prune --omit=dev --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8181 \
    STEPGATE_DATA_DIR=/var/lib/stepgate \
    STEPGATE_CONSOLE_DIR=/app/apps/console/dist
# node_modules links the workspace packages (@stepgate/protocol, policy) to packages/*.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
# The whole app folder: dist/, and any node_modules npm nested in it.
COPY --from=build /src/apps/control-plane ./apps/control-plane
COPY --from=build /src/apps/console/dist ./apps/console/dist
COPY --from=build /src/scripts/db ./scripts/db
COPY --from=build /src/prisma ./prisma
COPY deploy/docker/healthcheck.mjs /usr/local/lib/stepgate/healthcheck.mjs
RUN mkdir -p /var/lib/stepgate && chown 10001:10001 /var/lib/stepgate
# A numeric user, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8181
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/usr/local/lib/stepgate/healthcheck.mjs"]
CMD ["node", "apps/control-plane/dist/main.js"]

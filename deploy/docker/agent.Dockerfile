# syntax=docker/dockerfile:1.7
# The agent image: `docker build -f deploy/docker/agent.Dockerfile -t stepgate-agent .` (repo root).
# It installs the very tarball `scripts/pack.mjs` makes, the one CI installs into an empty
# directory and tests (npm pack -> npm install), so the image cannot drift from what is tested.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# CI runs npm 11; the lockfile is resolved with it.
RUN npm install --global npm@11.19.1
COPY . .
# Dependencies' install scripts do not run in CI either (npm 11 without allowScripts).
RUN npm ci --ignore-scripts \
  && node scripts/pack.mjs --out /pkgs

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    STEPGATE_AGENT_PORT=8182 \
    STEPGATE_CACHE_DIR=/var/lib/stepgate-agent
# One self-contained file with no dependencies: only the agent's own tarball is installed.
RUN --mount=type=bind,from=build,source=/pkgs,target=/pkgs \
    npm install --global --omit=dev /pkgs/stepgate-agent-[0-9]*.tgz \
  && npm cache clean --force \
  && mkdir -p /var/lib/stepgate-agent \
  && chown 10001:10001 /var/lib/stepgate-agent
COPY deploy/docker/healthcheck.mjs /usr/local/lib/stepgate/healthcheck.mjs
# A numeric user, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8182
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/usr/local/lib/stepgate/healthcheck.mjs"]
ENTRYPOINT ["stepgate-agent"]

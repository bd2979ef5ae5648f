# syntax=docker/dockerfile:1
# One image, three entrypoints (TypeScript runs directly on Node 24 through type
# stripping: there is no build step, the image holds the sources that are tested):
#
#   docker run IMAGE operator/main.ts     (the default)
#   docker run IMAGE webhook/main.ts
#   docker run IMAGE gateway/main.ts
#
# The chart (charts/crossgate) sets the arguments, a read-only root filesystem
# with an emptyDir on /tmp, uid/gid 1000 and no capabilities.
# Node's version matches the `node` devDependency in package.json (a unit test checks).
ARG NODE_VERSION=24.21.0

# ---- dependencies: production only; the `node` package (a devDependency that
# brings Node 24 to development machines) is not needed: the base image has Node.
FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# No production dependency has an install script; refusing them keeps the build hermetic.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime
FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, read-only to the process: nothing in the image is writable by uid 1000.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY api ./api
COPY model ./model
COPY operator ./operator
COPY webhook ./webhook
COPY gateway ./gateway
# The base image's `node` user, by number so that runAsNonRoot can be verified.
USER 1000:1000
# gateway data 8080, operator health/metrics 8081, gateway admin 9090, webhook 9443
EXPOSE 8080 8081 9090 9443
ENTRYPOINT ["node"]
CMD ["operator/main.ts"]

# syntax=docker/dockerfile:1
# One image, three entrypoints:
#
#   docker run IMAGE operator/main.js     (the default)
#   docker run IMAGE webhook/main.js
#   docker run IMAGE gateway/main.js
#   docker run IMAGE gateway/main.js --mode=authz --token-file /var/run/crossgate-authz/token   (crossgate-authz)
#   docker run IMAGE gateway/render-nginx.js --config-dir DIR --gateway NAME --authz URL   (prints an nginx config)
#
# The image runs JavaScript made from the TypeScript sources by
# hack/build-dist.ts: Node's own type stripper (the one that runs the sources in
# development and CI) with every line and column kept, so stack traces point
# into the .ts files. Shipping JavaScript spares each process the ~17 MB of RSS
# that loading the stripper costs (docs/performance.md, "Memory"); node runs
# with type stripping off, so a .ts file that slipped in fails at start.
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

# ---- build: the JavaScript the image runs (es-module-lexer, a devDependency, rewrites the imports).
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY hack/build-dist.ts ./hack/
COPY api ./api
COPY model ./model
COPY kube ./kube
COPY operator ./operator
COPY webhook ./webhook
COPY gateway ./gateway
RUN node hack/build-dist.ts --out /src/dist

# ---- runtime
FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, read-only to the process: nothing in the image is writable by uid 1000.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist ./
# The base image's `node` user, by number so that runAsNonRoot can be verified.
USER 1000:1000
# gateway data 8080, operator health/metrics 8081, gateway admin 9090, webhook 9443
EXPOSE 8080 8081 9090 9443
ENTRYPOINT ["node", "--no-experimental-strip-types"]
CMD ["operator/main.js"]

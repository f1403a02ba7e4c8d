# cosmos3-serve on one NVIDIA GPU: CUDA 13 + cuDNN 9 runtime, Node.js 24 LTS, ffmpeg, ONNX Runtime 1.29.0 with
# its CUDA execution provider. Build and run: docker/README.md. Every step below is one that CI or the tests
# also run (npm ci, npm run build, npm prune --omit=dev as a dry run, npm run provision:cuda with and without
# --from, node docker/healthcheck.mjs); nothing is done only here.
#
# Both base images are pinned by tag; check the tags exist before a release
# (docker manifest inspect nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04 node:24.11.1-bookworm-slim)
# and pin their digests (…@sha256:…) for reproducible builds.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# Node.js: the official build (the node image verifies the nodejs.org tarball's signature when it is made);
# only its node binary and npm are taken.
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

# ---- build: dependencies, TypeScript, CUDA provider libraries --------------------------------------------------
FROM base AS build
WORKDIR /app
# onnxruntime-node's own installer downloads from a host we do not use: skipped by .npmrc
# (onnxruntime-node-install=skip) and by the environment variable its installer also reads (npm warns that unknown
# .npmrc keys will stop working in its next major version)
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build
RUN npm prune --omit=dev
# Fetches com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 from the npm registry (~180 MB), checks it, and puts
# libonnxruntime_providers_{cuda,shared}.so next to onnxruntime-node's libonnxruntime.so.1; writes native/cuda-ep.json.
COPY native ./native
RUN npm run provision:cuda

# ---- runtime ---------------------------------------------------------------------------------------------------
FROM base AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && ffmpeg -hide_banner -version > /dev/null
RUN groupadd --system --gid 10001 cosmos \
 && useradd --system --uid 10001 --gid cosmos --home-dir /app --shell /usr/sbin/nologin cosmos \
 && mkdir -p /models \
 && chown cosmos:cosmos /models
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native ./native
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs

USER cosmos
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    MODEL_DIR=/models/cosmos3-nano \
    DEVICES=cuda:0
VOLUME /models
EXPOSE 8080
# Ready means the model is loaded and warmed up: with 16B parameters that takes minutes, hence the start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15m --retries=3 CMD ["node", "docker/healthcheck.mjs"]
CMD ["node", "dist/src/main.js", "serve"]

# Multi-stage build of one Parley node: the API server plus the built PWA.
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.9
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json turbo.json tsconfig.base.json eslint.config.js ./
COPY apps ./apps
COPY packages ./packages
COPY tools ./tools
RUN pnpm install --frozen-lockfile
RUN pnpm turbo run build --filter=@parley/server...
RUN pnpm deploy --filter=@parley/server --prod --legacy /out && cp -r apps/server/dist /out/dist && mkdir -p /out/web && cp -r apps/web/dist /out/web/dist

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 WEB_DIST=/app/web/dist
WORKDIR /app
COPY --from=build /out ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]

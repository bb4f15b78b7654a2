# One image for the worker, the API and the one-shot jobs (migrate, seed, simulator):
# the compose file picks the command. TypeScript runs through tsx, so there is no build step.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY apps ./apps
COPY packages ./packages
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npm cache clean --force
USER node
CMD ["npm", "run", "api"]
